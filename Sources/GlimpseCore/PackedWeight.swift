#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CGlimpseKernels

/// A linear layer's weights (and bias) packed once, at load, into the layout and precision of
/// the kernel that multiplies them: oneDNN's reordered weights on Linux (fp32, bf16 or int8),
/// else a portable kernel over the weights at that precision (see glimpse_packed.h).
///
/// The packed copy is all a packed layer keeps: the fp32 view it came from is released (an
/// owned copy is freed, a memory-mapped one handed back to the page cache), so packing does
/// not double the memory a model takes.
public final class PackedWeight: @unchecked Sendable {
    private let handle: OpaquePointer
    public let precision: Precision
    public let outFeatures: Int
    public let inFeatures: Int

    /// Packs `weight` [out, in] and `bias` [out] at `precision`; nil when the weights cannot be
    /// packed (a non-finite value, no memory), in which case the layer stays plain fp32.
    public init?(weight: Tensor, bias: Tensor?, precision: Precision, blocks: Int = Parallel.threadCount) {
        guard weight.rank == 2, bias.map({ $0.count == weight.shape[0] }) ?? true,
              NonFinite.firstIndex(weight.data, count: weight.count) == nil,
              bias.map({ NonFinite.firstIndex($0.data, count: $0.count) == nil }) ?? true else { return nil }
        let code: Int32 = switch precision { case .fp32: 0; case .bf16: 1; case .int8: 2 }
        guard let handle = gl_packed_create(weight.data, bias?.data, weight.shape[0], weight.shape[1], code,
                                            Int32(max(1, blocks))) else { return nil }
        self.handle = handle
        self.precision = precision
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
    }

    deinit { gl_packed_destroy(handle) }

    /// Which kernel multiplies ("onednn gemm:jit", "portable", …).
    public var kernel: String { String(cString: gl_packed_kernel(handle)) }

    /// int8: the weights are quantized to integers in [-int8Range, int8Range] per output
    /// channel (127, or 63 where oneDNN's kernels lack VNNI); 0 otherwise.
    public var int8Range: Int { Int(gl_packed_int8_range(handle)) }

    /// Bytes the packed weights take.
    public var byteCount: Int { gl_packed_bytes(handle) }

    /// Whether packed products run on oneDNN in this process (Linux builds with libdnnl).
    public static var usesOneDNN: Bool { gl_packed_uses_onednn() != 0 }

    /// Makes layers packed afterwards use the portable kernels (for testing that path).
    public static func forcePortable(_ on: Bool) { gl_packed_force_portable(on ? 1 : 0) }

    /// y = x · Wᵀ + b over the last axis of `x`.
    public func apply(_ x: Tensor) -> Tensor {
        Profiler.measure(.gemm) {
            precondition(x.shape.last == inFeatures, "packed linear: input \(x.shape) vs weight [\(outFeatures), \(inFeatures)]")
            let rows = x.count / inFeatures
            let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
            // Fails only when a scratch buffer cannot be allocated, which Swift treats as fatal too.
            guard gl_packed_linear(handle, x.data, rows, y.data) == 0 else {
                preconditionFailure("packed linear [\(outFeatures), \(inFeatures)]: out of memory for \(rows) rows")
            }
            return y
        }
    }

    /// The weights the products use, widened to fp32 [out, in]: after bf16 rounding or int8
    /// quantization (a new tensor each call).
    public func unpacked() -> Tensor {
        let w = Tensor(uninitialized: [outFeatures, inFeatures])
        guard gl_packed_unpack(handle, w.data) == 0 else {
            preconditionFailure("packed linear [\(outFeatures), \(inFeatures)]: could not unpack")
        }
        return w
    }

    /// Whether fp32 layers are packed too. On AVX-512, oneDNN's packed fp32 products measured
    /// faster than OpenBLAS (and independent of OPENBLAS_CORETYPE); on AVX2-only CPUs
    /// OpenBLAS and Glimpse's small-row kernel were as fast, so fp32 stays unpacked there.
    /// GLIMPSE_PACK_FP32=0 or 1 overrides.
    public static let packsFP32: Bool = {
        if let value = getenv("GLIMPSE_PACK_FP32").map({ String(cString: $0) }), value == "0" || value == "1" {
            return value == "1" && usesOneDNN
        }
        return usesOneDNN && gl_isa_level() >= 2
    }()

    /// Hands the pages of a memory-mapped tensor back to the page cache once it has been
    /// packed, so its bytes stop counting toward this process's memory (they are read again
    /// from the file if anything touches them later).
    package static func release(_ tensor: Tensor) {
        guard tensor.isMappedFromFile else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let start = (Int(bitPattern: tensor.data) + page - 1) / page * page
        let end = (Int(bitPattern: tensor.data) + tensor.count * 4) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, Int32(MADV_DONTNEED))
    }
}
