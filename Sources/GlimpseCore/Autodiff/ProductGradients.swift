/// Backward passes of the matrix products, on the same `BLAS.gemm` as the forward pass (the
/// transposed operands included), accumulating with beta = 1 straight into the gradients.
extension GradientTape {
    /// y = x Wᵀ + b: dx += dy W, dW += dyᵀ x, db += Σ_rows dy.
    package func recordLinear(x: Tensor, weight: Tensor, bias: Tensor?, output: Tensor) {
        let rx = ref(x), rw = ref(weight), rb = bias.flatMap { ref($0) }
        if rx == nil && rw == nil && rb == nil { return }
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0], rows = x.count / inFeatures
        record(output: output) { [unowned self] dy in
            withExtendedLifetime((x, weight)) {
                if let rx {
                    BLAS.gemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
                              b: weight.data, ldb: inFeatures, beta: 1, c: self.gradient(rx), ldc: inFeatures)
                }
                if let rw {
                    BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures,
                              b: x.data, ldb: inFeatures, beta: 1, c: self.gradient(rw), ldc: inFeatures)
                }
                if let rb {
                    let db = self.gradient(rb)
                    for r in 0 ..< rows { for j in 0 ..< outFeatures { db[j] += dy[r * outFeatures + j] } }
                }
            }
        }
    }

    /// C = op(A) op(B) with op a transpose or not: each operand's gradient is another product
    /// of the output gradient with the other operand, transposed as the shapes require.
    package func recordMatmul(_ a: Tensor, _ b: Tensor, transposeA tA: Bool, transposeB tB: Bool,
                              m: Int, n: Int, k: Int, output: Tensor) {
        let ra = ref(a), rb = ref(b)
        if ra == nil && rb == nil { return }
        let lda = tA ? m : k, ldb = tB ? k : n
        record(output: output) { [unowned self] dc in
            withExtendedLifetime((a, b)) {
                if let ra {
                    if !tA {  // dA [m,k] += dC [m,n] · op(B)ᵀ
                        BLAS.gemm(transB: !tB, m: m, n: k, k: n, a: dc, lda: n, b: b.data, ldb: ldb,
                                  beta: 1, c: self.gradient(ra), ldc: k)
                    } else {  // dA [k,m] += op(B) [k,n] · dCᵀ
                        BLAS.gemm(transA: tB, transB: true, m: k, n: m, k: n, a: b.data, lda: ldb, b: dc, ldb: n,
                                  beta: 1, c: self.gradient(ra), ldc: m)
                    }
                }
                if let rb {
                    if !tB {  // dB [k,n] += op(A)ᵀ [k,m] · dC
                        BLAS.gemm(transA: !tA, m: k, n: n, k: m, a: a.data, lda: lda, b: dc, ldb: n,
                                  beta: 1, c: self.gradient(rb), ldc: n)
                    } else {  // dB [n,k] += dCᵀ [n,m] · op(A)
                        BLAS.gemm(transA: true, transB: tA, m: n, n: k, k: m, a: dc, lda: n, b: a.data, ldb: lda,
                                  beta: 1, c: self.gradient(rb), ldc: k)
                    }
                }
            }
        }
    }
}

/// C = op(A) · op(B) for matrices A and B, where op transposes when asked: [m, k] · [k, n].
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: expected matrices, got \(a.shape) and \(b.shape)")
    let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition((transposeB ? b.shape[1] : b.shape[0]) == k, "matmul: \(a.shape) and \(b.shape) do not chain")
    let c = Tensor(uninitialized: [m, n])
    Profiler.measure(.gemm) {
        BLAS.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: a.data, lda: a.shape[1],
                  b: b.data, ldb: b.shape[1], c: c.data, ldc: n)
    }
    GradientTape.current?.recordMatmul(a, b, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, output: c)
    return c
}
