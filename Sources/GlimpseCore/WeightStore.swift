import CGlimpseKernels

/// Element types found in checkpoints. Compute is fp32: fp16 and bf16 weights are
/// widened once, when a model asks for the tensor (exact conversions), while fp32 weights
/// are used in place from the memory map.
public enum DType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32", u8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .u8, .bool: return 1
        }
    }
}

/// Where a tensor's bytes are: a pointer into a mapped file kept alive by `owner`.
public struct TensorEntry: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    package let bytes: UnsafeRawPointer
    public let owner: AnyObject
    public let file: String

    package init(dtype: DType, shape: [Int], bytes: UnsafeRawPointer, owner: AnyObject, file: String) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
        self.file = file
    }
}

/// A checkpoint's tensors by name, whatever file format they came from.
public protocol WeightStore: Sendable {
    var entries: [String: TensorEntry] { get }
    /// The precision the linear layers loaded from it are packed at, or nil to keep them as
    /// plain fp32 tensors (training, where weights change every step).
    var precision: Precision? { get }
}

extension WeightStore {
    public var precision: Precision? { nil }

    public var names: [String] { entries.keys.sorted() }
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The tensor `name` as fp32, checked against `shape` when given. A NaN or infinity in
    /// it is an error naming the file and tensor: such a weight only ever yields NaN
    /// outputs, which would otherwise be printed as `null` with a zero exit status.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else { throw GlimpseError.missingTensor(name) }
        // Loaders only admit shapes whose element count fits; an expected shape comes from a
        // config, so it is counted without overflow before it is compared or allocated.
        let what = "tensor '\(name)' in \(entry.file)"
        guard let stored = Tensor.elementCount(entry.shape, limit: Int.max) else {
            throw GlimpseError.invalidFile(path: entry.file, reason: "tensor '\(name)' has an impossible shape \(entry.shape)")
        }
        if let expected, expected != entry.shape {
            // A [n] vs [1, n] (or scalar vs [1]) difference is a layout detail, not a mismatch.
            guard Tensor.elementCount(expected, limit: Int.max) == stored,
                  expected.filter({ $0 != 1 }) == entry.shape.filter({ $0 != 1 }) else {
                throw GlimpseError.shapeMismatch(tensor: name, expected: expected, actual: entry.shape)
            }
        }
        let shape = expected ?? entry.shape
        let count = stored
        let out: Tensor
        switch entry.dtype {
        case .f32:
            if Int(bitPattern: entry.bytes) % MemoryLayout<Float>.alignment == 0 {
                let pointer = UnsafeMutablePointer(mutating: entry.bytes.assumingMemoryBound(to: Float.self))
                out = Tensor(shape: shape, borrowing: pointer, owner: entry.owner)
            } else {
                out = try Tensor.uninitialized(checked: shape, what: what)
                UnsafeMutableRawPointer(out.data).copyMemory(from: entry.bytes, byteCount: count * 4)
            }
        case .f16, .bf16:
            out = try Tensor.uninitialized(checked: shape, what: what)
            let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
            defer { halves.deallocate() }
            // Copy first: safetensors only guarantees byte alignment.
            UnsafeMutableRawPointer(halves).copyMemory(from: entry.bytes, byteCount: count * 2)
            if entry.dtype == .f16 { gl_f16_to_f32(halves, out.data, count) }
            else { gl_bf16_to_f32(halves, out.data, count) }
        case .f64:
            out = try Tensor.uninitialized(checked: shape, what: what)
            for i in 0..<count { out.data[i] = Float(entry.bytes.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        default:
            throw GlimpseError.unsupported("tensor '\(name)' has dtype \(entry.dtype.rawValue); expected a floating-point type")
        }
        if let bad = NonFinite.firstIndex(out.data, count: count) {
            throw GlimpseError.invalidFile(path: entry.file, reason: "tensor '\(name)' holds \(out.data[bad]) at element \(bad) (shape \(entry.shape)); a weight must be a finite number")
        }
        // The check read every page of a memory-mapped tensor. A large table (a token
        // embedding) is then read only sparsely, by the rows of the tokens used: hand its pages
        // back. Smaller tensors are read whole anyway (or packed, which releases them).
        if count * 4 >= 16 << 20 { PackedWeight.release(out) }
        return out
    }

    /// The tensor if present, nil if absent (for optional parameters such as biases).
    public func optionalTensor(_ name: String, shape: [Int]? = nil) throws -> Tensor? {
        contains(name) ? try tensor(name, shape: shape) : nil
    }
}
