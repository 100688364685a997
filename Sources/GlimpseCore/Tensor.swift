#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dense, row-major fp32 tensor.
///
/// Storage is either owned (64-byte aligned, so SIMD kernels and BLAS get aligned rows) or
/// borrowed from a memory-mapped checkpoint, in which case `owner` keeps the mapping alive
/// and the tensor must be treated as read-only. Tensors are reference types: ops allocate
/// their outputs, and a reshape shares storage.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
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
    public convenience init(uninitialized shape: [Int]) {
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

    /// A view on memory kept alive by `owner` (a mapped file, or another tensor).
    public init(shape: [Int], borrowing pointer: UnsafeMutablePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = pointer
        self.owner = owner
        self.ownsMemory = false
    }

    deinit { if ownsMemory { free(data) } }

    public var rank: Int { shape.count }

    /// The same storage seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, borrowing: data, owner: self)
    }

    /// Rows `range` of a tensor seen as [shape[0], rest...], sharing storage.
    public func rows(_ range: Range<Int>) -> Tensor {
        let rowSize = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), borrowing: data + range.lowerBound * rowSize, owner: self)
    }

    /// Tensors of equal row shape stacked along the first dimension (one part is returned as is).
    public static func concatenatingRows(_ parts: [Tensor], rowShape: [Int]) -> Tensor {
        if parts.count == 1 { return parts[0] }
        let out = Tensor(zeros: [parts.reduce(0) { $0 + $1.shape[0] }] + rowShape)
        var offset = 0
        for part in parts {
            precondition(Array(part.shape.dropFirst()) == rowShape, "concatenatingRows: \(part.shape) vs rows of \(rowShape)")
            (out.data + offset).update(from: part.data, count: part.count)
            offset += part.count
        }
        return out
    }

    /// A fresh copy with its own storage.
    public func copy() -> Tensor {
        let out = Tensor(zeros: shape)
        out.data.update(from: data, count: count)
        return out
    }

    /// The single element of a one-element tensor. (Read it through the tensor, not through
    /// `data` of a temporary: a temporary may be freed as soon as `data` is taken.)
    public var item: Float {
        precondition(count == 1, "item of a tensor of shape \(shape)")
        return data[0]
    }

    /// The elements as an array (row-major).
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public subscript(indices: Int...) -> Float {
        get { data[offset(indices)] }
        set { data[offset(indices)] = newValue }
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
        let head = UnsafeBufferPointer(start: data, count: min(count, 6)).map { String($0) }
        return "Tensor(\(shape), [\(head.joined(separator: ", "))\(count > 6 ? ", ..." : "")])"
    }
}
