import CGlimpseKernels
import Foundation
import GlimpseCore
import XCTest

/// The pre-packed linear layers against plain Double loops that use the same operands each
/// precision defines (bf16-rounded inputs; int8 quantized per channel and per row with exact
/// integer sums), on odd shapes (1, primes, sizes off every tile), both backends (oneDNN and
/// portable), one to three column blocks, and each oneDNN instruction-set level (in child
/// processes, since oneDNN fixes its level at first use).
final class PackedWeightTests: XCTestCase {
    static let ms = [1, 2, 7, 50, 131]
    static let ks = [1, 5, 31, 64, 129, 768]
    static let ns = [1, 3, 17, 97, 257]

    private func random(_ count: Int, _ rng: inout SplitMix64, scale: Float = 1) -> [Float] {
        (0 ..< count).map { _ in rng.uniform(-scale, scale) }
    }

    private static func bf16(_ x: Float) -> Double {
        var bits = x.bitPattern
        bits &+= 0x7fff &+ ((bits >> 16) & 1)
        return Double(Float(bitPattern: bits & 0xffff_0000))
    }

    /// Symmetric quantization of `v` to [-range, range] (x · (1/s), rounded to nearest even):
    /// the integers and the scale.
    private static func quantize(_ v: ArraySlice<Float>, range: Int) -> ([Int], Double) {
        let top = v.map { abs($0) }.max() ?? 0
        let scale = top > 0 ? top / Float(range) : 1, inverse = 1 / scale
        return (v.map { Int((min(max($0 * inverse, -Float(range)), Float(range))).rounded(.toNearestOrEven)) }, Double(scale))
    }

    /// Checks y = x·Wᵀ + b for one shape, precision and block count.
    private func check(m: Int, n: Int, k: Int, precision: Precision, blocks: Int, seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SplitMix64(seed: seed)
        let x = random(m * k, &rng), w = random(n * k, &rng, scale: 0.3), b = random(n, &rng)
        let weight = Tensor(shape: [n, k], values: w), bias = Tensor(shape: [n], values: b)
        let packed = try XCTUnwrap(PackedWeight(weight: weight, bias: bias, precision: precision, blocks: blocks),
                                   file: file, line: line)
        let y = packed.apply(Tensor(shape: [m, k], values: x)).scalars
        XCTAssertEqual(y.count, m * n, file: file, line: line)
        let range = packed.int8Range
        let quantizedW = (0 ..< n).map { Self.quantize(w[$0 * k ..< ($0 + 1) * k], range: max(range, 1)) }
        for i in 0 ..< m {
            let row = x[i * k ..< (i + 1) * k]
            let quantizedX = Self.quantize(row, range: 127)
            for j in 0 ..< n {
                var expected = 0.0, magnitude = 0.0
                switch precision {
                case .fp32:
                    for p in 0 ..< k { expected += Double(x[i * k + p]) * Double(w[j * k + p]); magnitude += abs(Double(x[i * k + p]) * Double(w[j * k + p])) }
                case .bf16:
                    for p in 0 ..< k {
                        let term = Self.bf16(x[i * k + p]) * Self.bf16(w[j * k + p])
                        expected += term; magnitude += abs(term)
                    }
                case .int8:
                    var sum = 0
                    for p in 0 ..< k { sum += quantizedX.0[p] * quantizedW[j].0[p] }
                    expected = Double(Float(sum) * Float(quantizedX.1 * quantizedW[j].1))
                    magnitude = abs(expected)
                }
                expected += Double(b[j])
                let error = abs(Double(y[i * n + j]) - expected)
                // fp32 sums of k products, in any order: a few ulps of the sum of magnitudes.
                let tolerance = 4e-6 * magnitude + 1e-6
                if error > tolerance {
                    XCTFail("\(precision) m=\(m) n=\(n) k=\(k) blocks=\(blocks) [\(packed.kernel)]: y[\(i),\(j)] = \(y[i * n + j]), expected \(expected)",
                            file: file, line: line)
                    return
                }
            }
        }
    }

    private func checkAllShapes(_ precision: Precision) throws {
        var seed: UInt64 = 1
        for m in Self.ms { for k in Self.ks { for n in Self.ns {
            seed += 1
            try check(m: m, n: n, k: k, precision: precision, blocks: Int(seed % 3) + 1, seed: seed)
        } } }
    }

    func testFP32AgainstNaiveReference() throws { try checkAllShapes(.fp32) }
    func testBF16AgainstNaiveReference() throws { try checkAllShapes(.bf16) }
    func testInt8AgainstNaiveReference() throws { try checkAllShapes(.int8) }

    func testPortableKernelsAgainstNaiveReference() throws {
        PackedWeight.forcePortable(true)
        defer { PackedWeight.forcePortable(false) }
        let saved = gl_isa_level()
        defer { _ = gl_set_max_isa_level(2) }
        for level in 0 ... Int(saved) {
            _ = gl_set_max_isa_level(Int32(level))
            for precision in Precision.allCases {
                var seed: UInt64 = 100
                for (m, n, k) in [(1, 1, 1), (7, 97, 129), (50, 257, 768), (131, 17, 31)] {
                    seed += 1
                    try check(m: m, n: n, k: k, precision: precision, blocks: Int(seed % 3) + 1, seed: seed)
                }
                let probe = try XCTUnwrap(PackedWeight(weight: Tensor(zeros: [4, 4]), bias: nil, precision: precision))
                XCTAssertEqual(probe.kernel, "portable")
            }
        }
    }

    /// Accuracy against fp32 itself, with the per-precision budgets the README states.
    func testQuantizationErrorAgainstFP32() throws {
        var rng = SplitMix64(seed: 7)
        let m = 50, n = 256, k = 768
        let x = Tensor(shape: [m, k], values: random(m * k, &rng))
        let weight = Tensor(shape: [n, k], values: random(n * k, &rng, scale: 0.05))
        let exact = try XCTUnwrap(PackedWeight(weight: weight, bias: nil, precision: .fp32)).apply(x).scalars
        for (precision, minimum) in [(Precision.bf16, 0.9999), (.int8, 0.9995)] {
            let y = try XCTUnwrap(PackedWeight(weight: weight, bias: nil, precision: precision)).apply(x).scalars
            for i in 0 ..< m {
                let a = exact[i * n ..< (i + 1) * n], b = y[i * n ..< (i + 1) * n]
                let dot = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
                let cosine = dot / (a.map { Double($0 * $0) }.reduce(0, +).squareRoot() * b.map { Double($0 * $0) }.reduce(0, +).squareRoot())
                XCTAssertGreaterThan(cosine, minimum, "\(precision) row \(i)")
            }
        }
    }

    func testUnpackGivesTheWeightsTheProductsUse() throws {
        var rng = SplitMix64(seed: 3)
        let w = random(37 * 70, &rng)
        let weight = Tensor(shape: [37, 70], values: w)
        for precision in Precision.allCases {
            let packed = try XCTUnwrap(PackedWeight(weight: weight, bias: nil, precision: precision, blocks: 2))
            let unpacked = packed.unpacked().scalars
            for (i, value) in unpacked.enumerated() {
                let bound: Float = switch precision {
                case .fp32: 0
                case .bf16: abs(w[i]) / 256
                case .int8: 0.51 * w[(i / 70) * 70 ..< (i / 70 + 1) * 70].map(abs).max()! / Float(packed.int8Range)
                }
                XCTAssertLessThanOrEqual(abs(value - w[i]), bound, "\(precision) element \(i)")
            }
            XCTAssertGreaterThan(packed.byteCount, 0)
        }
    }

    func testRefusesNonFiniteWeightsAndEmptyShapes() {
        XCTAssertNil(PackedWeight(weight: Tensor(shape: [2, 2], values: [1, .nan, 0, 1]), bias: nil, precision: .int8))
        XCTAssertNil(PackedWeight(weight: Tensor(shape: [2, 2], values: [1, .infinity, 0, 1]), bias: nil, precision: .fp32))
        XCTAssertNil(PackedWeight(weight: Tensor(zeros: [0, 4]), bias: nil, precision: .bf16))
        XCTAssertNil(PackedWeight(weight: Tensor(zeros: [3, 4]), bias: Tensor(zeros: [2]), precision: .fp32))
    }

    /// Each oneDNN instruction-set level the CPU has, in a child process of this test binary
    /// (ONEDNN_MAX_CPU_ISA is read once per process): the shape tests must pass at every one.
    func testEveryOneDNNInstructionSetLevel() throws {
        guard PackedWeight.usesOneDNN else { throw XCTSkip("no oneDNN in this build") }
        if ProcessInfo.processInfo.environment["GLIMPSE_PACKED_CHILD"] != nil { return }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0])
        guard binary.path.hasSuffix(".xctest") else { throw XCTSkip("not run from an .xctest binary") }
        for isa in ["AVX2", "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16"] {
            let child = Process()
            child.executableURL = binary
            child.arguments = ["GlimpseCoreTests.PackedWeightTests"]
            var environment = ProcessInfo.processInfo.environment
            environment["ONEDNN_MAX_CPU_ISA"] = isa
            environment["GLIMPSE_PACKED_CHILD"] = "1"
            child.environment = environment
            let output = Pipe()
            child.standardOutput = output
            child.standardError = output
            try child.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            XCTAssertEqual(child.terminationStatus, 0, "ONEDNN_MAX_CPU_ISA=\(isa):\n\(text.suffix(3000))")
            XCTAssertTrue(text.contains("Executed 8 tests, with 0 failures"), "at \(isa):\n\(text.suffix(3000))")
        }
    }
}
