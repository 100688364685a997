import CGlimpseKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Multi-head scaled dot-product attention over *packed* sequences.
///
/// Rows of `query` [Nq, D] and `key`/`value` [Nk, D] hold several sequences back to back;
/// `querySequences[i]` and `keySequences[i]` give the rows of sequence i. Packing instead of
/// padding means no work is spent on pad tokens and no padding mask is needed: a batch of
/// texts of different lengths is just a list of ranges. Heads are contiguous column blocks
/// of width D / heads, as in every Hugging Face checkpoint.
///
/// With `causal`, query row i of a sequence sees keys 0 ... i + (Lk − Lq): the offset makes
/// the same call serve full sequences (Lk = Lq) and incremental decoding with a key/value
/// cache (one new query against every past key).
public func attention(
    query: Tensor, key: Tensor, value: Tensor, heads: Int,
    querySequences: [Range<Int>], keySequences: [Range<Int>]? = nil,
    causal: Bool, scale: Float? = nil
) -> Tensor {
    Profiler.measure(.attention) {
        let dim = query.shape[query.rank - 1]
        precondition(dim % heads == 0, "attention: width \(dim) not divisible by \(heads) heads")
        precondition(key.shape[key.rank - 1] == dim && value.shape[value.rank - 1] == dim,
                     "attention: query/key/value widths differ")
        let keyRanges = keySequences ?? querySequences
        precondition(keyRanges.count == querySequences.count, "attention: sequence lists differ in length")
        let headDim = dim / heads
        let alpha = scale ?? 1 / Float(headDim).squareRoot()
        let output = Tensor(zeros: query.shape)
        let q = query.data, k = key.data, v = value.data, o = output.data

        let tasks = querySequences.count * heads
        let longest = zip(querySequences, keyRanges).map { $0.count * $1.count }.max() ?? 0
        // One task per (sequence, head) on the pool, each product single-threaded inside it;
        // only when there are fewer tasks than threads (one long sequence, few heads) is it
        // better to let each product split over the pool instead.
        let grain = tasks < Parallel.threadCount && longest * headDim >= 1 << 20 ? tasks : 1
        Parallel.forEach(tasks, grain: grain) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(longest, 1))
            defer { scores.deallocate() }
            for task in range {
                let s = task / heads, h = task % heads
                let qRows = querySequences[s], kRows = keyRanges[s]
                let lq = qRows.count, lk = kRows.count
                if lq == 0 { continue }
                let column = h * headDim
                let qHead = q + qRows.lowerBound * dim + column
                let kHead = k + kRows.lowerBound * dim + column
                let vHead = v + kRows.lowerBound * dim + column
                // scores = α · Q Kᵀ
                BLAS.gemm(transB: true, m: lq, n: lk, k: headDim, alpha: alpha,
                          a: qHead, lda: dim, b: kHead, ldb: dim, c: scores, ldc: lk)
                if causal {
                    let offset = lk - lq
                    for i in 0..<lq {
                        let visible = min(max(i + offset + 1, 0), lk)
                        let row = scores + i * lk
                        gl_softmax_rows(row, 1, visible)
                        if visible < lk { (row + visible).update(repeating: 0, count: lk - visible) }
                    }
                } else {
                    gl_softmax_rows(scores, lq, lk)
                }
                // O = P V, written into this head's columns of the output.
                BLAS.gemm(m: lq, n: headDim, k: lk, a: scores, lda: lk, b: vHead, ldb: dim,
                          c: o + qRows.lowerBound * dim + column, ldc: dim)
            }
        }
        GradientTape.current?.recordAttention(query: query, key: key, value: value, heads: heads,
                                              querySequences: querySequences, keySequences: keyRanges,
                                              causal: causal, alpha: alpha, output: output)
        return output
    }
}
