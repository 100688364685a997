import CGlimpseKernels
import GlimpseCore
import Dispatch
import Foundation
import XCTest

/// Checks every kernel in CGlimpseKernels against a plain Swift loop computed in Double, on
/// random data of awkward sizes (including sizes big enough to go through the worker pool)
/// and on edge values, and checks that the pool covers every index exactly once.
final class KernelTests: XCTestCase {
    /// Element counts: tails of every vector width, a transformer row, and enough (> 16K)
    /// to be split over the pool.
    static let sizes = [1, 7, 33, 1000, 50 * 768, 70_001]
    /// (rows, cols) for the row-wise kernels; the last two are big enough for the pool.
    static let shapes = [(1, 1), (1, 7), (3, 33), (2, 1000), (50, 768), (97, 577)]

    // MARK: - Elementwise activations

    /// Max error allowed: `relTol * |ref| + absTol + perX * |x|`.
    private func checkActivation(
        _ name: String, relTol: Double, absTol: Double, perX: Double = 0,
        kernel: (UnsafeMutablePointer<Float>, Int) -> Void, reference: (Double) -> Double
    ) {
        forEachISALevel { level in
            var rng = SplitMix64(seed: 0x61C8_8647)
            for n in Self.sizes {
                var x = (0..<n).map { _ in rng.uniform(-8, 8) }
                x += edgeValues()
                let input = x
                x.withUnsafeMutableBufferPointer { buffer in
                    if let base = buffer.baseAddress { kernel(base, buffer.count) }
                }
                for (i, v) in input.enumerated() {
                    let want = reference(Double(v))
                    let err = abs(Double(x[i]) - want)
                    if !(err <= relTol * abs(want) + absTol + perX * abs(Double(v))) {
                        XCTFail("\(name)(\(v)) = \(x[i]), want \(want) (n = \(n), err \(err), ISA level \(level))")
                        return
                    }
                }
            }
        }
    }

    private func edgeValues() -> [Float] {
        [0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.5, 1, -1, 3, -3, 5, -5, 10, -10,
         20, -20, 50, -50, 1e10, -1e10, Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude]
    }

    func testGeluErf() {
        // erf is within 4e-7 (relative near 0, absolute near +-1), so GELU's error is
        // relative for small and positive x, and at most ~2e-7 |x| in the left tail.
        checkActivation("gelu_erf", relTol: 1e-6, absTol: 1e-37, perX: 3e-7,
                        kernel: { gl_gelu_erf($0, $1) },
                        reference: { x in x * 0.5 * erfc(-x / 2.0.squareRoot()) })
    }

    func testGeluTanh() {
        // Reference as written in PyTorch; abs error 1e-7 covers the 1 + tanh cancellation
        // in the Double reference and the rounding of u in the float kernel.
        checkActivation("gelu_tanh", relTol: 2e-6, absTol: 1e-7,
                        kernel: { gl_gelu_tanh($0, $1) },
                        reference: { x in
                            0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
                        })
    }

    func testQuickGelu() {
        checkActivation("quick_gelu", relTol: 2e-6, absTol: 1e-7,
                        kernel: { gl_quick_gelu($0, $1) },
                        reference: { x in x / (1 + exp(-1.702 * x)) })
    }

    func testActivationSpecialValues() {
        forEachISALevel { _ in
            var x: [Float] = [0, -0.0, 20, -20, 1e30, -1e30, .nan]
            var y = x, z = x
            let n = x.count
            gl_gelu_erf(&x, n)
            gl_gelu_tanh(&y, n)
            gl_quick_gelu(&z, n)
            for out in [x, y, z] {
                XCTAssertEqual(out[0].bitPattern, Float(0).bitPattern)
                XCTAssertEqual(out[1].bitPattern, Float(-0.0).bitPattern)
                XCTAssertEqual(out[2], 20)
                XCTAssertEqual(out[4], 1e30)
                XCTAssertTrue(out[6].isNaN)
            }
            // GELU of a large negative input is -0 (or a tiny negative), never NaN.
            for out in [x, y, z] {
                XCTAssertFalse(out[3].isNaN)
                XCTAssertLessThanOrEqual(abs(out[3]), 1e-12)
                XCTAssertFalse(out[5].isNaN)
                XCTAssertEqual(out[5], 0)
            }
        }
    }

    // MARK: - Add, scale

    func testAddAndScaleExact() {
        forEachISALevel { _ in
            var rng = SplitMix64(seed: 7)
            for n in Self.sizes {
                let a = (0..<n).map { _ in rng.uniform(-100, 100) }
                let b = (0..<n).map { _ in rng.uniform(-100, 100) }
                var y = a
                gl_add(&y, b, n)
                XCTAssertEqual(y, zip(a, b).map { $0 + $1 }, "add n=\(n)")
                var s = a
                gl_scale(&s, n, 0.37)
                XCTAssertEqual(s, a.map { $0 * 0.37 }, "scale n=\(n)")
                // y += y through one pointer.
                var d = a
                d.withUnsafeMutableBufferPointer { buf in
                    if let p = buf.baseAddress { gl_add(p, p, buf.count) }
                }
                XCTAssertEqual(d, a.map { $0 + $0 }, "add aliased n=\(n)")
            }
        }
    }

    // MARK: - Row-wise

    func testLayerNorm() {
        forEachISALevel { _ in
            var rng = SplitMix64(seed: 11)
            for (rows, cols) in Self.shapes {
                // An offset mean, as activations have, exercises the two-pass variance.
                let x = (0..<rows * cols).map { _ in 3 + 2 * rng.uniform(-1, 1) }
                let gamma = (0..<cols).map { _ in rng.uniform(0.5, 1.5) }
                let beta = (0..<cols).map { _ in rng.uniform(-0.5, 0.5) }
                let eps: Float = 1e-5
                var want = [Double](repeating: 0, count: rows * cols)
                for r in 0..<rows {
                    let row = x[r * cols..<(r + 1) * cols].map(Double.init)
                    let mean = row.reduce(0, +) / Double(cols)
                    let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
                    let rstd = 1 / (variance + Double(eps)).squareRoot()
                    for c in 0..<cols {
                        want[r * cols + c] = (row[c] - mean) * rstd * Double(gamma[c]) + Double(beta[c])
                    }
                }
                var y = [Float](repeating: .nan, count: rows * cols)
                gl_layer_norm(x, &y, rows, cols, gamma, beta, eps)
                assertClose(y, want, absTol: 1e-5, "layer_norm \(rows)x\(cols)")

                // In place.
                var inPlace = x
                inPlace.withUnsafeMutableBufferPointer { buf in
                    if let p = buf.baseAddress { gl_layer_norm(p, p, rows, cols, gamma, beta, eps) }
                }
                assertClose(inPlace, want, absTol: 1e-5, "layer_norm in place \(rows)x\(cols)")

                // Without the affine part.
                var plain = [Float](repeating: .nan, count: rows * cols)
                gl_layer_norm(x, &plain, rows, cols, nil, nil, eps)
                let wantPlain = (0..<rows * cols).map { i in
                    (want[i] - Double(beta[i % cols])) / Double(gamma[i % cols])
                }
                assertClose(plain, wantPlain, absTol: 1e-5, "layer_norm no affine \(rows)x\(cols)")
            }
        }
    }

    func testLayerNormConstantRow() {
        // Zero variance: output is beta exactly (x - mean = 0).
        let x = [Float](repeating: 4.25, count: 33)
        var y = [Float](repeating: .nan, count: 33)
        let gamma = [Float](repeating: 2, count: 33)
        let beta = (0..<33).map { Float($0) }
        gl_layer_norm(x, &y, 1, 33, gamma, beta, 1e-5)
        XCTAssertEqual(y, beta)
    }

    func testSoftmax() {
        forEachISALevel { _ in
            var rng = SplitMix64(seed: 5)
            for (rows, cols) in Self.shapes {
                var x = (0..<rows * cols).map { _ in rng.uniform(-12, 12) }
                // Mask some entries with -inf, as attention masks do (never a whole row here).
                for i in stride(from: 1, to: x.count, by: 5) where cols > 1 { x[i] = -.infinity }
                let want = softmaxReference(x, rows: rows, cols: cols)
                gl_softmax_rows(&x, rows, cols)
                assertClose(x, want, absTol: 1e-6, relTol: 1e-5, "softmax \(rows)x\(cols)")
                for r in 0..<rows {
                    let sum = x[r * cols..<(r + 1) * cols].reduce(0, +)
                    XCTAssertEqual(sum, 1, accuracy: 1e-5, "softmax row sum \(rows)x\(cols)")
                }
            }
        }
    }

    func testSoftmaxEdgeRows() {
        forEachISALevel { _ in
            let inf = Float.infinity
            var x: [Float] = [
                -inf, -inf, -inf, -inf,     // all masked: defined as all 0
                -inf, 3, -inf, -inf,        // one survivor: exactly 1
                1000, 1000, -1000, -inf,    // large magnitudes: no overflow
                0, 0, 0, 0,                 // uniform
            ]
            gl_softmax_rows(&x, 4, 4)
            XCTAssertEqual(Array(x[0..<4]), [0, 0, 0, 0])
            XCTAssertEqual(Array(x[4..<8]), [0, 1, 0, 0])
            XCTAssertEqual(Array(x[8..<12]), [0.5, 0.5, 0, 0])
            XCTAssertEqual(Array(x[12..<16]), [0.25, 0.25, 0.25, 0.25])
            var one: [Float] = [42]
            gl_softmax_rows(&one, 1, 1)
            XCTAssertEqual(one, [1])
        }
    }

    func testL2Normalize() {
        forEachISALevel { _ in
            var rng = SplitMix64(seed: 9)
            for (rows, cols) in Self.shapes {
                var x = (0..<rows * cols).map { _ in rng.uniform(-3, 3) }
                if rows > 1 { for c in 0..<cols { x[cols + c] = 0 } }  // a zero row stays zero
                var want = [Double](repeating: 0, count: x.count)
                for r in 0..<rows {
                    let row = x[r * cols..<(r + 1) * cols].map(Double.init)
                    let norm = max(row.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
                    for c in 0..<cols { want[r * cols + c] = row[c] / norm }
                }
                gl_l2_normalize_rows(&x, rows, cols, 1e-12)
                assertClose(x, want, absTol: 1e-7, relTol: 2e-6, "l2_normalize \(rows)x\(cols)")
            }
        }
    }

    func testAddBiasRowsExact() {
        forEachISALevel { _ in
            var rng = SplitMix64(seed: 13)
            for (rows, cols) in Self.shapes {
                let y0 = (0..<rows * cols).map { _ in rng.uniform(-10, 10) }
                let bias = (0..<cols).map { _ in rng.uniform(-10, 10) }
                var y = y0
                gl_add_bias_rows(&y, bias, rows, cols)
                XCTAssertEqual(y, y0.enumerated().map { $0.element + bias[$0.offset % cols] },
                               "add_bias_rows \(rows)x\(cols)")
            }
        }
    }

    // MARK: - Conversions

    func testF16ToF32AllBitPatterns() {
        forEachISALevel { _ in
            let src = (0...UInt16.max).map { $0 }
            var dst = [Float](repeating: 0, count: src.count)
            gl_f16_to_f32(src, &dst, src.count)  // 65536 values: also goes through the pool
            for (h, f) in zip(src, dst) {
                let want = halfReference(h)
                XCTAssertEqual(f.bitPattern, want.bitPattern, "f16 0x\(String(h, radix: 16))")
                if f.bitPattern != want.bitPattern { return }
            }
            // Small, odd sizes take the inline path and tails.
            for n in [1, 7, 33] {
                let s = (0..<n).map { UInt16(truncatingIfNeeded: $0 &* 40503 &+ 1) }
                var d = [Float](repeating: 0, count: n)
                gl_f16_to_f32(s, &d, n)
                XCTAssertEqual(d.map(\.bitPattern), s.map { halfReference($0).bitPattern })
            }
        }
    }

    func testBF16ToF32AllBitPatterns() {
        forEachISALevel { _ in
            let src = (0...UInt16.max).map { $0 }
            var dst = [Float](repeating: 0, count: src.count)
            gl_bf16_to_f32(src, &dst, src.count)
            XCTAssertEqual(dst.map(\.bitPattern), src.map { UInt32($0) << 16 })
        }
    }

    func testISALevel() {
        let level = gl_isa_level()
        XCTAssertTrue((0...2).contains(level))
        #if !arch(x86_64)
        XCTAssertEqual(level, 0)
        #endif
        XCTAssertEqual(gl_set_max_isa_level(0), 0)
        XCTAssertEqual(gl_set_max_isa_level(2), level)
    }

    func testKernelsAgreeAcrossThreadCounts() {
        // The threaded and the inline paths must give identical bits.
        let saved = gl_num_threads()
        defer { gl_set_num_threads(saved) }
        var rng = SplitMix64(seed: 3)
        let rows = 64, cols = 1000
        let x = (0..<rows * cols).map { _ in rng.uniform(-6, 6) }
        var results: [[Float]] = []
        for threads: Int32 in [1, 3] {
            gl_set_num_threads(threads)
            var a = x, b = x, c = x
            gl_softmax_rows(&a, rows, cols)
            gl_gelu_erf(&b, x.count)
            var d = [Float](repeating: 0, count: x.count)
            gl_layer_norm(x, &d, rows, cols, nil, nil, 1e-5)
            gl_quick_gelu(&c, x.count)
            results.append(a + b + c + d)
        }
        XCTAssertEqual(results[0], results[1])
    }

    // MARK: - Helpers

    /// Runs `body` once per instruction-set level this CPU has (on x86-64: baseline, AVX2,
    /// AVX-512), so every compiled variant of each kernel is checked, not just the best one.
    private func forEachISALevel(_ body: (Int32) -> Void) {
        let top = gl_set_max_isa_level(2)
        defer { gl_set_max_isa_level(2) }
        for level in 0...top {
            XCTAssertEqual(gl_set_max_isa_level(level), level)
            body(level)
        }
    }

    private func softmaxReference(_ x: [Float], rows: Int, cols: Int) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = x[r * cols..<(r + 1) * cols].map(Double.init)
            let m = row.max() ?? 0
            let e = row.map { $0 == -.infinity ? 0 : exp($0 - m) }
            let s = e.reduce(0, +)
            for c in 0..<cols { out[r * cols + c] = e[c] / s }
        }
        return out
    }

    /// IEEE binary16 decoded by hand (Float16 is unavailable on macOS x86_64).
    private func halfReference(_ h: UInt16) -> Float {
        let negative = h & 0x8000 != 0
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        let magnitude: Float
        switch exponent {
        case 0: magnitude = Float(mantissa) * 0x1p-24
        case 31:
            // inf, or a NaN with its payload kept and the quiet bit set
            magnitude = Float(bitPattern: 0x7f80_0000 | (mantissa << 13) | (mantissa != 0 ? 0x40_0000 : 0))
        default: magnitude = Float(sign: .plus, exponent: exponent - 15, significand: 1 + Float(mantissa) / 1024)
        }
        return Float(bitPattern: magnitude.bitPattern | (negative ? 0x8000_0000 : 0))
    }

    private func assertClose(_ got: [Float], _ want: [Double], absTol: Double, relTol: Double = 0,
                             _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, message, file: file, line: line)
        var worst = 0.0, worstIndex = 0
        for (i, (g, w)) in zip(got, want).enumerated() {
            let excess = abs(Double(g) - w) - (absTol + relTol * abs(w))
            if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; worstIndex = i }
        }
        if worst > 0 {
            XCTFail("\(message): [\(worstIndex)] = \(got[worstIndex]), want \(want[worstIndex])",
                    file: file, line: line)
        }
    }
}
