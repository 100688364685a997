#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
import CGlimpseKernels
#endif

/// The one matrix-multiply primitive every model op reduces to: BLAS sgemm
/// (OpenBLAS on Linux, Accelerate on Apple platforms), row-major, with Glimpse's own
/// kernels for products of few rows on Linux (linear layers, decoding attention).
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, where op(A) is m×k, op(B) is k×n, C is m×n,
    /// and each matrix has its own leading dimension (row stride), so strided views such
    /// as one attention head inside a [tokens, hidden] matrix need no copy.
    ///
    /// On Linux, OpenBLAS runs single-threaded and large products are split into column
    /// (or row) blocks over Glimpse's own worker pool: one set of threads for everything,
    /// instead of two pools spinning against each other on the same cores. Called from
    /// inside a pool task, it runs on the calling thread.
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        #if canImport(Accelerate)
        serial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        #else
        if !transA && (beta == 0 || beta == 1) {
            if transB && m <= smallRows && k >= 16,
               gl_gemm_nt(m, n, k, alpha, a, lda, b, ldb, c, ldc, beta == 1 ? 1 : 0) == 0 {
                return
            }
            if !transB && alpha == 1 && m <= 4 && n * k <= 1 << 17 {
                gl_gemm_nn_small(m, n, k, a, lda, b, ldb, c, ldc, beta == 1 ? 1 : 0)
                return
            }
        }
        _ = singleThreadedBLAS
        let threads = Parallel.threadCount
        let work = m * n * k
        // Tall products split by rows, each thread multiplying its rows by all of op(B): on
        // their own, 1,600-row products ran 5-10 % faster than in column blocks (each
        // thread packs only its part of A, not all of it). Short ones split by columns.
        if threads > 1 && work >= 1 << 18 && m >= 128 * threads {
            rowBlocks(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        } else if threads > 1 && work >= 1 << 18 && n >= 32 * threads {
            // Column blocks: op(B) columns j0..<j1 and the same columns of C.
            let block = ((n + threads - 1) / threads + 15) / 16 * 16
            Parallel.forEach((n + block - 1) / block) { range in
                for part in range {
                    let j0 = part * block, width = min(block, n - j0)
                    serial(transA, transB, m, width, k, alpha, a, lda,
                           transB ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc)
                }
            }
        } else if threads > 1 && work >= 1 << 18 && m >= 8 * threads {
            rowBlocks(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        } else {
            serial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
        #endif
    }

    #if !canImport(Accelerate)
    /// Up to this many rows of A, a product with B transposed (every linear layer on one
    /// image, a few texts or a decoding step) runs on Glimpse's own kernel, which reads the
    /// weights unpacked; sgemm's packing and large-matrix tiling win beyond it.
    static let smallRows = 32

    private static let singleThreadedBLAS: Void = openblas_set_num_threads(1)
    #endif

    /// Row blocks over the pool: an even split, rounded to multiples of 16 rows (sgemm's
    /// register tile height) once the blocks are tall enough that rounding keeps them even.
    private static func rowBlocks(
        _ threads: Int, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        let even = (m + threads - 1) / threads
        let block = even >= 64 ? (even + 15) / 16 * 16 : even
        Parallel.forEach((m + block - 1) / block) { range in
            for part in range {
                let i0 = part * block, height = min(block, m - i0)
                serial(transA, transB, height, n, k, alpha, transA ? a + i0 : a + i0 * lda, lda,
                       b, ldb, beta, c + i0 * ldc, ldc)
            }
        }
    }

    @inline(__always)
    private static func serial(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb),
                    beta, c, blasInt(ldc))
    }

    #if canImport(Accelerate)
    @inline(__always) private static func blasInt(_ x: Int) -> Int32 { Int32(x) }
    #else
    @inline(__always) private static func blasInt(_ x: Int) -> blasint { blasint(x) }
    #endif
}

/// y = x · Wᵀ + b for x [rows, inFeatures] and W [outFeatures, inFeatures] (PyTorch layout).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    Profiler.measure(.gemm) {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        precondition(x.shape.last == inFeatures, "linear: input \(x.shape) vs weight \(weight.shape)")
        let rows = x.count / inFeatures
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        if let bias {
            // Seed C with the bias so sgemm's beta = 1 folds the add into the multiply.
            for r in 0..<rows { (y.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
        }
        BLAS.gemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x.data, lda: inFeatures, b: weight.data, ldb: inFeatures,
                  beta: bias == nil ? 0 : 1, c: y.data, ldc: outFeatures)
        GradientTape.current?.recordLinear(x: x, weight: weight, bias: bias, output: y)
        return y
    }
}

/// C = A · Bᵀ for A [m, k], B [n, k]: similarity matrices between embedding sets.
public func matmulTransposed(_ a: Tensor, _ b: Tensor) -> Tensor {
    Profiler.measure(.gemm) {
        let k = a.shape[a.rank - 1]
        precondition(b.shape[b.rank - 1] == k, "matmulTransposed: \(a.shape) vs \(b.shape)")
        let m = a.count / k, n = b.count / k
        let c = Tensor(uninitialized: [m, n])
        BLAS.gemm(transB: true, m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: k, c: c.data, ldc: n)
        GradientTape.current?.recordMatmul(a, b, transposeA: false, transposeB: true, m: m, n: n, k: k, output: c)
        return c
    }
}
