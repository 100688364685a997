import CGlimpseKernels

/// The backward pass of packed multi-head attention (`attention`): self- or cross-attention,
/// causal or not, sequences of any lengths.
///
/// Only q, k and v are kept from the forward pass; each head's probabilities P are
/// recomputed here (one product per head) instead of being stored for every layer, which is
/// what bounds attention's activation memory. Per head, with S = α Q Kᵀ and P = softmax(S):
/// dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = α dS K, dK = α dSᵀ Q.
extension GradientTape {
    package func recordAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                 querySequences: [Range<Int>], keySequences: [Range<Int>],
                                 causal: Bool, alpha: Float, output: Tensor) {
        let rq = ref(query), rk = ref(key), rv = ref(value)
        if rq == nil && rk == nil && rv == nil { return }
        let dim = query.shape[query.rank - 1], headDim = dim / heads
        record(output: output) { [unowned self] g in
            withExtendedLifetime((query, key, value)) {
                let dq = rq.map { self.gradient($0) }, dk = rk.map { self.gradient($0) }, dv = rv.map { self.gradient($0) }
                let q = query.data, k = key.data, v = value.data
                // Sequences one after another (cross-attention may share key rows between
                // them); heads in parallel, as they own disjoint columns.
                for (qRows, kRows) in zip(querySequences, keySequences) {
                    let lq = qRows.count, lk = kRows.count
                    if lq == 0 || lk == 0 { continue }
                    Parallel.forEach(heads) { range in
                        let p = UnsafeMutablePointer<Float>.allocate(capacity: lq * lk)
                        let dp = UnsafeMutablePointer<Float>.allocate(capacity: lq * lk)
                        defer { p.deallocate(); dp.deallocate() }
                        for h in range {
                            let column = h * headDim
                            let qOffset = qRows.lowerBound * dim + column, kOffset = kRows.lowerBound * dim + column
                            BLAS.gemm(transB: true, m: lq, n: lk, k: headDim, alpha: alpha,
                                      a: q + qOffset, lda: dim, b: k + kOffset, ldb: dim, c: p, ldc: lk)
                            if causal {
                                let offset = lk - lq
                                for i in 0 ..< lq {
                                    let visible = min(max(i + offset + 1, 0), lk)
                                    gl_softmax_rows(p + i * lk, 1, visible)
                                    if visible < lk { (p + i * lk + visible).update(repeating: 0, count: lk - visible) }
                                }
                            } else {
                                gl_softmax_rows(p, lq, lk)
                            }
                            let dO = g + qOffset
                            if let dv {
                                BLAS.gemm(transA: true, m: lk, n: headDim, k: lq, a: p, lda: lk, b: dO, ldb: dim,
                                          beta: 1, c: dv + kOffset, ldc: dim)
                            }
                            if dq == nil && dk == nil { continue }
                            BLAS.gemm(transB: true, m: lq, n: lk, k: headDim, a: dO, lda: dim, b: v + kOffset, ldb: dim,
                                      c: dp, ldc: lk)
                            for i in 0 ..< lq {
                                var dot: Float = 0
                                for j in 0 ..< lk { dot += dp[i * lk + j] * p[i * lk + j] }
                                for j in 0 ..< lk { dp[i * lk + j] = p[i * lk + j] * (dp[i * lk + j] - dot) }
                            }
                            if let dq {
                                BLAS.gemm(m: lq, n: headDim, k: lk, alpha: alpha, a: dp, lda: lk, b: k + kOffset, ldb: dim,
                                          beta: 1, c: dq + qOffset, ldc: dim)
                            }
                            if let dk {
                                BLAS.gemm(transA: true, m: lk, n: headDim, k: lq, alpha: alpha, a: dp, lda: lk,
                                          b: q + qOffset, ldb: dim, beta: 1, c: dk + kOffset, ldc: dim)
                            }
                        }
                    }
                }
            }
        }
    }
}
