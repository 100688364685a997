#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dense, row-major fp32 tensor.
///
/// Storage is either owned (64-byte aligned, so SIMD kernels and BLAS get aligned rows) or
/// borrowed from a read-only memory-mapped checkpoint (`isReadOnly`), in which case `owner`
/// keeps the mapping alive. Tensors are reference types: ops allocate their outputs, and a
/// reshape or a row slice shares storage (and read-only-ness) with its base.
///
/// Sendable because the public surface cannot change a tensor once it is built: values go in
/// through an initialiser and come out through reads, copies and views. Writing is
/// `package`-internal: ops and models write only into tensors they have just allocated and
/// not yet handed out (op outputs, a decoding cache they own), never into a read-only one.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    /// The first element. Package code (kernels, ops, models) reads and writes through it;
    /// everyone else uses the scoped accessors and row operations below.
    package let data: UnsafeMutablePointer<Float>
    /// Whether the storage is borrowed from a read-only memory map (or is a view of such a
    /// tensor): writing to it would fault, so no API writes to it; `copy()` gives a writable one.
    public let isReadOnly: Bool
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// A zero-filled tensor. For shapes computed by the program; a shape read from a file or
    /// derived from input goes through `Tensor.zeros(checked:what:)`.
    public convenience init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        data.update(repeating: 0, count: max(count, 1))
    }

    /// A tensor whose contents are unspecified: for outputs an op overwrites in full (a
    /// matrix product with beta = 0), where zero-filling first would be a wasted pass.
    package convenience init(uninitialized shape: [Int]) {
        guard let count = Self.elementCount(shape, limit: Int.max) else {
            preconditionFailure("tensor shape \(shape) has a negative or overflowing element count")
        }
        // posix_memalign only fails for out-of-memory, which Swift treats as fatal anyway.
        guard let memory = Self.allocate(count) else {
            preconditionFailure("out of memory allocating a tensor of shape \(shape)")
        }
        self.init(shape: shape, count: count, owning: memory)
    }

    private init(shape: [Int], count: Int, owning memory: UnsafeMutablePointer<Float>) {
        self.shape = shape
        self.count = count
        self.data = memory
        self.owner = nil
        self.ownsMemory = true
        self.isReadOnly = false
    }

    /// 64-byte aligned storage for `count` floats, nil when the size overflows or the system
    /// has no memory for it.
    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float>? {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow, bytes <= Int.max - 63 else { return nil }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, (bytes + 63) & ~63) == 0, let raw else { return nil }
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// The number of elements of `shape`, or nil when a dimension is negative or the count
    /// (computed without overflow, zero dimensions counted as one so that no order of
    /// multiplication can overflow either) exceeds `limit`.
    public static func elementCount(_ shape: [Int], limit: Int = Limits.tensorElements) -> Int? {
        var bound = 1, count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (b, overflow) = bound.multipliedReportingOverflow(by: max(dim, 1))
            guard !overflow, b <= limit else { return nil }
            bound = b
            count = dim == 0 ? 0 : count * dim  // ≤ bound, so cannot overflow
        }
        return count
    }

    /// A zero-filled tensor of a shape read from a file or derived from input: an error
    /// naming `what` when the shape is negative, overflows, exceeds `Limits.tensorElements`
    /// or cannot be allocated, never a trap.
    public static func zeros(checked shape: [Int], what: @autoclosure () -> String) throws -> Tensor {
        let tensor = try uninitialized(checked: shape, what: what())
        tensor.data.update(repeating: 0, count: max(tensor.count, 1))
        return tensor
    }

    /// As `zeros(checked:what:)`, contents unspecified.
    public static func uninitialized(checked shape: [Int], what: @autoclosure () -> String) throws -> Tensor {
        guard let count = elementCount(shape) else {
            throw GlimpseError.invalidArgument("\(what()): shape \(shape) is negative or holds more than the \(Limits.tensorElements) elements a tensor may have")
        }
        guard let memory = allocate(count) else {
            throw GlimpseError.invalidArgument("\(what()): out of memory for a tensor of shape \(shape)")
        }
        return Tensor(shape: shape, count: count, owning: memory)
    }

    /// A tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { data.update(from: base, count: values.count) }
        }
    }

    /// A zero-filled tensor that `body` fills in place before anyone else sees it (as
    /// `Array(unsafeUninitializedCapacity:)`): the way to write, e.g., pixel values straight
    /// into a new tensor. The buffer must not escape `body`.
    public convenience init(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.init(zeros: shape)
        try body(UnsafeMutableBufferPointer(start: data, count: count))
    }

    /// A read-only view on memory kept alive by `owner`: a tensor in a read-only mapped file.
    package convenience init(shape: [Int], borrowing pointer: UnsafeMutablePointer<Float>, owner: AnyObject) {
        self.init(shape: shape, view: pointer, of: owner, readOnly: true)
    }

    /// A view on storage kept alive by `owner` (a mapped file, or the tensor it is a view of).
    private init(shape: [Int], view pointer: UnsafeMutablePointer<Float>, of owner: AnyObject, readOnly: Bool) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = pointer
        self.owner = owner
        self.ownsMemory = false
        self.isReadOnly = readOnly
    }

    deinit { if ownsMemory { free(data) } }

    /// Whether the storage is pages of a memory-mapped file (directly or through views), which
    /// the system can drop and read again: only such storage may be handed back to the page
    /// cache (`PackedWeight.release`); borrowed anonymous memory would be zeroed.
    package var isMappedFromFile: Bool {
        guard isReadOnly, let owner else { return false }
        return owner is MappedFile || (owner as? Tensor)?.isMappedFromFile == true
    }

    public var rank: Int { shape.count }

    /// Elements per row when the tensor is seen as [shape[0], rest...].
    public var rowSize: Int { shape.dropFirst().reduce(1, *) }

    /// The same storage seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let view = Tensor(shape: newShape, view: data, of: self, readOnly: isReadOnly)
        GradientTape.current?.recordView(of: self, view: view, offset: 0)
        return view
    }

    /// Rows `range` of a tensor seen as [shape[0], rest...], sharing storage.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank > 0 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows \(range) of a tensor of shape \(shape)")
        let view = Tensor(shape: [range.count] + shape.dropFirst(), view: data + range.lowerBound * rowSize, of: self,
                          readOnly: isReadOnly)
        GradientTape.current?.recordView(of: self, view: view, offset: range.lowerBound * rowSize)
        return view
    }

    /// A new tensor whose row i is a copy of row `indices[i]` (an index may repeat): an
    /// embedding lookup, the class tokens of a batch, the beams kept by a search.
    public func gatherRows(_ indices: [Int]) -> Tensor {
        precondition(rank > 0, "gatherRows of a scalar")
        let rowSize = self.rowSize
        let out = Tensor(uninitialized: [indices.count] + shape.dropFirst())
        for (i, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[0], "row \(index) of a tensor of shape \(shape)")
            (out.data + i * rowSize).update(from: data + index * rowSize, count: rowSize)
        }
        GradientTape.current?.recordGather(source: self, indices: indices, output: out)
        return out
    }

    /// Overwrites rows `row ..< row + source.shape[0]` with the rows of `source` (same row shape).
    package func replaceRows(startingAt row: Int, with source: Tensor) {
        precondition(!isReadOnly, "writing to a read-only tensor")
        precondition(rank > 0 && source.rank > 0 && Array(source.shape.dropFirst()) == Array(shape.dropFirst()),
                     "rows of \(source.shape) into \(shape)")
        precondition(row >= 0 && row + source.shape[0] <= shape[0], "rows \(row) ..< \(row + source.shape[0]) of \(shape)")
        (data + row * rowSize).update(from: source.data, count: source.count)
    }

    /// Tensors of equal row shape stacked along the first dimension (one part is returned as is).
    public static func concatenatingRows(_ parts: [Tensor], rowShape: [Int]) -> Tensor {
        if parts.count == 1 { return parts[0] }
        let out = Tensor(zeros: [parts.reduce(0) { $0 + $1.shape[0] }] + rowShape)
        var row = 0
        for part in parts {
            out.replaceRows(startingAt: row, with: part)
            row += part.shape[0]
        }
        GradientTape.current?.recordConcatenation(parts, output: out)
        return out
    }

    /// A fresh, writable copy with its own storage.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.data.update(from: data, count: count)
        return out
    }

    /// Calls `body` with the elements (row-major); the buffer is valid only inside `body`.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeBufferPointer(start: data, count: count)) }
    }

    /// Calls `body` with the elements to change in place, for package code writing into a
    /// tensor it has just made. A read-only tensor is never handed out this way.
    package func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(!isReadOnly, "writing to a read-only tensor")
        return try withExtendedLifetime(self) { try body(UnsafeMutableBufferPointer(start: data, count: count)) }
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item of a tensor of shape \(shape)")
        return self[Array(repeating: 0, count: rank)]
    }

    /// The elements as an array (row-major).
    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// The element at `indices` (one per dimension); setting is package-internal.
    public package(set) subscript(indices: Int...) -> Float {
        get { self[indices] }
        set { self[indices] = newValue }
    }

    package subscript(indices: [Int]) -> Float {
        get { withExtendedLifetime(self) { data[offset(indices)] } }
        set {
            precondition(!isReadOnly, "writing to a read-only tensor")
            data[offset(indices)] = newValue
        }
    }

    private func offset(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "index rank \(indices.count) for shape \(shape)")
        var flat = 0
        for (i, dim) in zip(indices, shape) {
            precondition(i >= 0 && i < dim, "index \(indices) out of bounds for \(shape)")
            flat = flat * dim + i
        }
        return flat
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = withUnsafeBufferPointer { $0.prefix(6).map { String($0) } }
        return "Tensor(\(shape), [\(head.joined(separator: ", "))\(count > 6 ? ", ..." : "")])"
    }
}
