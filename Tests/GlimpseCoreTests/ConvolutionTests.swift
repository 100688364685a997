import XCTest
@testable import GlimpseCore

/// Convolution, folded batch norm and average pooling against direct loops in Double.
final class ConvolutionTests: XCTestCase {
    var seed: UInt64 = 0x9E37_79B9
    func random(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 40) % 2001 - 1000) / 1000
        })
    }

    func naiveConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int, padding: Int) -> [Float] {
        let (b, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, k) = (w.shape[0], w.shape[2])
        let oh = (h + 2 * padding - k) / stride + 1, ow = (wd + 2 * padding - k) / stride + 1
        var out: [Float] = []
        for n in 0..<b { for oc in 0..<o { for oy in 0..<oh { for ox in 0..<ow {
            var sum = Double(bias?.data[oc] ?? 0)
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * stride + ky - padding, ix = ox * stride + kx - padding
                if iy >= 0 && iy < h && ix >= 0 && ix < wd { sum += Double(x[n, ic, iy, ix]) * Double(w[oc, ic, ky, kx]) }
            } } }
            out.append(Float(sum))
        } } } }
        return out
    }

    func testConvolutionMatchesDirectLoops() {
        let cases: [(c: Int, o: Int, k: Int, stride: Int, padding: Int, h: Int, w: Int, bias: Bool)] = [
            (3, 4, 3, 2, 1, 9, 7, false),   // stem: strided, padded, odd sizes
            (5, 6, 3, 1, 1, 6, 6, true),
            (8, 3, 1, 1, 0, 5, 4, true),    // 1×1: the no-columns path
            (2, 4, 1, 2, 0, 6, 5, false),   // 1×1 strided: through columns
            (3, 2, 4, 4, 0, 8, 8, false),   // patch embedding
        ]
        for t in cases {
            let x = random([2, t.c, t.h, t.w]), w = random([t.o, t.c, t.k, t.k])
            let bias = t.bias ? random([t.o]) : nil
            let conv = Conv2d(weight: w, bias: bias, stride: t.stride, padding: t.padding)
            let y = conv(x)
            XCTAssertEqual(y.shape, [2, t.o, conv.outputSize(t.h), conv.outputSize(t.w)])
            let expected = naiveConv(x, w, bias, stride: t.stride, padding: t.padding)
            let err = zip(y.scalars, expected).map { abs($0 - $1) }.max() ?? 0
            print("conv \(t): max abs error \(err)")
            XCTAssertLessThan(err, 1e-5, "\(t)")
        }
    }

    func testFoldedBatchNormEqualsConvThenNorm() {
        let x = random([1, 3, 5, 5]), w = random([4, 3, 3, 3])
        let gamma = random([4]), beta = random([4]), mean = random([4])
        let variance = Tensor(shape: [4], values: random([4]).scalars.map { abs($0) + 0.1 })
        let (fw, fb) = foldBatchNorm(convWeight: w, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, eps: 1e-5)
        let folded = Conv2d(weight: fw, bias: fb, padding: 1)(x)
        let plain = naiveConv(x, w, nil, stride: 1, padding: 1)
        var err: Float = 0
        for (i, v) in plain.enumerated() {
            let c = i / 25
            let normed = (Double(v) - Double(mean.data[c])) / (Double(variance.data[c]) + 1e-5).squareRoot() * Double(gamma.data[c]) + Double(beta.data[c])
            err = max(err, abs(folded.data[i] - Float(normed)))
        }
        print("folded batch norm: max abs error \(err)")
        XCTAssertLessThan(err, 1e-5)
    }

    func testAveragePoolDropsPartialWindows() {
        let x = random([2, 3, 7, 6])
        let y = avgPool2d(x, kernel: 2)
        XCTAssertEqual(y.shape, [2, 3, 3, 3])
        for n in 0..<2 { for c in 0..<3 { for i in 0..<3 { for j in 0..<3 {
            let mean = (x[n, c, 2 * i, 2 * j] + x[n, c, 2 * i, 2 * j + 1] + x[n, c, 2 * i + 1, 2 * j] + x[n, c, 2 * i + 1, 2 * j + 1]) / 4
            XCTAssertEqual(y[n, c, i, j], mean, accuracy: 1e-6)
        } } } }
        XCTAssertEqual(avgPool2d(x, kernel: 1).scalars, x.scalars)
    }
}
