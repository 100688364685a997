import XCTest
@testable import GlimpseCore
import CGlimpseKernels

/// GEMM-backed ops against straightforward loops. Tolerance 1e-4 absolute on O(1) values.
final class OpsTests: XCTestCase {
    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let values = (0 ..< shape.reduce(1, *)).map { _ -> Float in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state % 20001) / 10000 - 1
        }
        return Tensor(shape: shape, values: values)
    }

    func testLinearMatchesLoops() {
        let x = random([5, 7], seed: 1), w = random([3, 7], seed: 2), b = random([3], seed: 3)
        for bias in [nil, b] {
            let y = linear(x, weight: w, bias: bias)
            XCTAssertEqual(y.shape, [5, 3])
            for i in 0..<5 { for j in 0..<3 {
                var s = bias?.data[j] ?? 0
                for k in 0..<7 { s += x[i, k] * w[j, k] }
                XCTAssertEqual(y[i, j], s, accuracy: 1e-5)
            } }
        }
    }

    /// The small-row kernel behind linear layers on one image, a few texts or one decoding
    /// step: every tile shape (3 × 4 and its edges), k tails that are not a multiple of 8, k
    /// blocks (over 1,024), row strides wider than the rows, overwrite and accumulate, one and
    /// two threads, every instruction-set level. Error bound: 1e-5 × Σ|a·b| per output.
    func testSmallRowProductMatchesLoops() {
        let saved = gl_num_threads()
        defer { _ = gl_set_max_isa_level(2); gl_set_num_threads(saved) }
        for level in 0...2 { for threads in [1, 2] {
            _ = gl_set_max_isa_level(Int32(level)); gl_set_num_threads(Int32(threads))
            for (m, n, k) in [(1, 1, 16), (2, 5, 17), (3, 4, 23), (4, 9, 64), (7, 130, 1030), (32, 37, 2051)] {
                let lda = k + 3, ldb = k + 5, ldc = n + 2
                let a = random([m, lda], seed: UInt64(m * 31 + k)), b = random([n, ldb], seed: UInt64(n * 17 + k))
                for accumulate in [false, true] {
                    let c = random([m, ldc], seed: 9), before = c.scalars
                    XCTAssertEqual(gl_gemm_nt(m, n, k, 0.75, a.data, lda, b.data, ldb, c.data, ldc, accumulate ? 1 : 0), 0)
                    var worst = 0.0
                    for i in 0..<m { for j in 0..<n {
                        var s = accumulate ? Double(before[i * ldc + j]) : 0, magnitude = 1.0
                        for p in 0..<k {
                            let t = 0.75 * Double(a.data[i * lda + p]) * Double(b.data[j * ldb + p])
                            s += t; magnitude += abs(t)
                        }
                        worst = max(worst, abs(Double(c.data[i * ldc + j]) - s) / magnitude)
                    } }
                    XCTAssertLessThan(worst, 1e-5, "m \(m) n \(n) k \(k) level \(level) threads \(threads)")
                    for i in 0..<m { for j in n..<ldc {
                        XCTAssertEqual(c.data[i * ldc + j], before[i * ldc + j], "padding column written")
                    } }
                }
            }
        } }
    }

    /// The few-row A · B kernel (attention weights times cached values while decoding): k tails
    /// not a multiple of 4, strides, overwrite and accumulate, every ISA level.
    func testFewRowProductMatchesLoops() {
        defer { _ = gl_set_max_isa_level(2) }
        for level in 0...2 {
            _ = gl_set_max_isa_level(Int32(level))
            for (m, n, k) in [(1, 1, 1), (1, 64, 577), (3, 17, 6), (4, 64, 5)] {
                let lda = k + 2, ldb = n + 3, ldc = n + 1
                let a = random([m, lda], seed: UInt64(m + k)), b = random([k, ldb], seed: UInt64(n + 7 * k))
                for accumulate in [false, true] {
                    let c = random([m, ldc], seed: 5), before = c.scalars
                    gl_gemm_nn_small(m, n, k, a.data, lda, b.data, ldb, c.data, ldc, accumulate ? 1 : 0)
                    for i in 0..<m { for j in 0..<ldc {
                        guard j < n else {
                            XCTAssertEqual(c.data[i * ldc + j], before[i * ldc + j], "padding column written"); continue
                        }
                        var s = accumulate ? Double(before[i * ldc + j]) : 0, magnitude = 1.0
                        for p in 0..<k {
                            let t = Double(a.data[i * lda + p]) * Double(b.data[p * ldb + j])
                            s += t; magnitude += abs(t)
                        }
                        XCTAssertLessThan(abs(Double(c.data[i * ldc + j]) - s) / magnitude, 1e-5, "m \(m) n \(n) k \(k) level \(level)")
                    } }
                }
            }
        }
    }

    /// Naive attention for one sequence pair, one head at a time.
    func naive(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, qRows: Range<Int>, kRows: Range<Int>, causal: Bool) -> [[Float]] {
        let d = q.shape[1], hd = d / heads
        var out = [[Float]](repeating: [Float](repeating: 0, count: d), count: qRows.count)
        for h in 0..<heads {
            for (i, qi) in qRows.enumerated() {
                var scores: [Float] = []
                for (j, kj) in kRows.enumerated() {
                    if causal && j > i + (kRows.count - qRows.count) { scores.append(-.infinity); continue }
                    var s: Float = 0
                    for c in 0..<hd { s += q[qi, h * hd + c] * k[kj, h * hd + c] }
                    scores.append(s / Float(hd).squareRoot())
                }
                let m = scores.max() ?? 0
                let e = scores.map { $0 == -.infinity ? 0 : exp($0 - m) }
                let z = e.reduce(0, +)
                for c in 0..<hd {
                    var acc: Float = 0
                    for (j, kj) in kRows.enumerated() { acc += e[j] / z * v[kj, h * hd + c] }
                    out[i][h * hd + c] = acc
                }
            }
        }
        return out
    }

    func testPackedSelfAttentionMatchesNaive() {
        let q = random([17, 12], seed: 4), k = random([17, 12], seed: 5), v = random([17, 12], seed: 6)
        let sequences = [0..<5, 5..<6, 6..<17]
        for causal in [false, true] {
            let out = attention(query: q, key: k, value: v, heads: 3, querySequences: sequences, causal: causal)
            for r in sequences {
                let expected = naive(q, k, v, heads: 3, qRows: r, kRows: r, causal: causal)
                for (i, row) in r.enumerated() { for c in 0..<12 {
                    XCTAssertEqual(out[row, c], expected[i][c], accuracy: 1e-5, "causal \(causal) row \(row) col \(c)")
                } }
            }
        }
    }

    /// Cross-attention (different key sequences) and the causal offset used with a KV cache.
    func testCrossAndIncrementalAttention() {
        let q = random([3, 8], seed: 7), k = random([9, 8], seed: 8), v = random([9, 8], seed: 9)
        let qs = [0..<1, 1..<3], ks = [0..<4, 4..<9]
        for causal in [false, true] {
            let out = attention(query: q, key: k, value: v, heads: 2, querySequences: qs, keySequences: ks, causal: causal)
            for (qr, kr) in zip(qs, ks) {
                let expected = naive(q, k, v, heads: 2, qRows: qr, kRows: kr, causal: causal)
                for (i, row) in qr.enumerated() { for c in 0..<8 {
                    XCTAssertEqual(out[row, c], expected[i][c], accuracy: 1e-5)
                } }
            }
        }
    }

    func testPatchEmbeddingEqualsConvolution() {
        let images = random([2, 3, 8, 12], seed: 10), kernel = random([5, 3, 4, 4], seed: 11)
        let patches = extractPatches(images, patch: 4)
        XCTAssertEqual(patches.shape, [2 * 2 * 3, 48])
        let y = linear(patches, weight: kernel.reshaped([5, 48]), bias: nil)
        for b in 0..<2 { for py in 0..<2 { for px in 0..<3 { for o in 0..<5 {
            var s: Float = 0
            for c in 0..<3 { for dy in 0..<4 { for dx in 0..<4 {
                s += images[b, c, py * 4 + dy, px * 4 + dx] * kernel[o, c, dy, dx]
            } } }
            XCTAssertEqual(y[(b * 2 + py) * 3 + px, o], s, accuracy: 1e-4)
        } } } }
    }

    func testEmbeddingLookupAndRows() {
        let table = random([6, 4], seed: 12)
        let rows = embeddingLookup(table, ids: [5, 0, 5])
        XCTAssertEqual(rows.shape, [3, 4])
        for c in 0..<4 { XCTAssertEqual(rows[0, c], table[5, c]); XCTAssertEqual(rows[1, c], table[0, c]) }
        XCTAssertEqual(table.rows(2..<4).scalars, Array(table.scalars[8..<16]))
    }

    func testActivationNames() {
        XCTAssertEqual(Activation(huggingFace: "quick_gelu"), .quickGelu)
        XCTAssertEqual(Activation(huggingFace: "gelu"), .gelu)
        XCTAssertEqual(Activation(huggingFace: "gelu_pytorch_tanh"), .geluTanh)
        XCTAssertNil(Activation(huggingFace: "swish-ish"))
    }

    /// Recording charges top-level ops to their class only; inner calls are not counted twice.
    func testProfilerChargesOuterOpsOnly() {
        let x = random([64, 32], seed: 13), w = random([48, 32], seed: 14)
        Profiler.setEnabled(true)
        defer { Profiler.setEnabled(false) }
        _ = linear(x, weight: w, bias: nil)
        let gemmOnly = Profiler.totals()[.gemm] ?? 0
        XCTAssertGreaterThan(gemmOnly, 0)
        Profiler.measure(.attention) {
            _ = linear(x, weight: w, bias: nil)
            softmaxInPlace(x)
        }
        let totals = Profiler.totals()
        XCTAssertGreaterThan(totals[.attention] ?? 0, 0)
        XCTAssertEqual(totals[.gemm], gemmOnly, "an inner GEMM is charged to the outer op")
        XCTAssertNil(totals[.normalization], "an inner softmax is charged to the outer op")
        Profiler.setEnabled(false)
        _ = linear(x, weight: w, bias: nil)
        XCTAssertEqual(Profiler.totals().count, 0, "nothing recorded while disabled")
    }
}
