import XCTest
@testable import GlimpseCore

/// Every differentiable op's output and input gradients against PyTorch autograd on the same
/// seeded inputs and upstream gradient (Tools/fixtures/make_autodiff_fixtures.py), within 1e-4
/// relative error (as defined in `GradientParity`).
final class AutodiffTests: XCTestCase {
    var store: SafetensorsFile!

    override func setUpWithError() throws { store = try GradientParity.fixture("ops.safetensors") }

    func constant(_ name: String) throws -> Tensor { try store.tensor(name) }
    func integers(_ name: String) throws -> [Int] { try store.tensor(name).scalars.map { Int($0) } }

    /// Runs `op` on writable copies of the case's inputs under a tape and checks its output and
    /// the gradient of every input for the stored upstream gradient.
    func check(_ name: String, _ inputs: [String], file: StaticString = #filePath, line: UInt = #line,
               _ op: ([String: Tensor]) throws -> Tensor) throws {
        var values: [String: Tensor] = [:]
        let tape = GradientTape()
        for input in inputs {
            values[input] = try store.tensor("\(name).\(input)").copy()
            tape.watch(values[input]!)
        }
        let output = try tape.record { try op(values) }
        GradientParity.assertClose(output, try store.tensor("\(name).output"), "\(name) output", file: file, line: line)
        try tape.backward(from: output, seed: try store.tensor("\(name).upstream"))
        for input in inputs {
            GradientParity.assertClose(tape.gradient(of: values[input]!), try store.tensor("\(name).grad_\(input)"),
                                       "\(name) d\(input)", file: file, line: line)
        }
    }

    func testLinear() throws {
        try check("linear", ["x", "w", "b"]) { linear($0["x"]!, weight: $0["w"]!, bias: $0["b"]!) }
    }

    func testMatmulWithEachOperandTransposed() throws {
        for tag in ["nn", "nt", "tn", "tt"] {
            let (ta, tb) = (tag.first == "t", tag.last == "t")
            try check("matmul_\(tag)", ["a", "b"]) { matmul($0["a"]!, $0["b"]!, transposeA: ta, transposeB: tb) }
        }
        try check("matmul_nt", ["a", "b"]) { matmulTransposed($0["a"]!, $0["b"]!) }
    }

    func testAddScaleBias() throws {
        try check("add", ["a", "b"]) { added($0["a"]!, $0["b"]!) }
        let factor = try constant("scale.factor").item
        try check("scale", ["x"]) { scaled($0["x"]!, factor) }
        try check("bias", ["x", "b"]) { addingBias($0["x"]!, $0["b"]!) }
    }

    func testInPlaceAddAndScaleRecordNewVersions() throws {
        try check("add", ["a", "b"]) { values in
            let sum = added(values["a"]!, Tensor(zeros: values["a"]!.shape))
            addInPlace(sum, values["b"]!)
            return sum
        }
    }

    func testLayerNorm() throws {
        try check("layer_norm", ["x", "w", "b"]) { layerNorm($0["x"]!, weight: $0["w"]!, bias: $0["b"]!, eps: 1e-5) }
    }

    func testSoftmaxAndLogSoftmax() throws {
        try check("softmax", ["x"]) { softmax($0["x"]!) }
        try check("log_softmax", ["x"]) { logSoftmax($0["x"]!) }
    }

    func testActivations() throws {
        try check("gelu", ["x"]) { activated($0["x"]!, .gelu) }
        try check("gelu_tanh", ["x"]) { activated($0["x"]!, .geluTanh) }
        try check("quick_gelu", ["x"]) { activated($0["x"]!, .quickGelu) }
    }

    func testL2NormalizationAndTranspose() throws {
        try check("l2_normalize", ["x"]) { l2Normalized($0["x"]!) }
        try check("transpose", ["x"]) { transposed($0["x"]!) }
    }

    func testAttentionSelfCausalAndCross() throws {
        for (name, causal) in [("attention", false), ("attention_causal", true), ("cross_attention", false)] {
            let heads = Int(try constant("\(name).heads").item)
            let queries = ranges(try integers("\(name).query_lengths"))
            let keys = ranges(try integers("\(name).key_lengths"))
            try check(name, ["q", "k", "v"]) {
                attention(query: $0["q"]!, key: $0["k"]!, value: $0["v"]!, heads: heads,
                          querySequences: queries, keySequences: keys, causal: causal)
            }
        }
    }

    func testEmbeddingLookupGatherAndMeanPooling() throws {
        let ids = try integers("embedding.ids")
        try check("embedding", ["table"]) { embeddingLookup($0["table"]!, ids: ids) }
        let rows = try integers("gather.rows")
        try check("gather", ["x"]) { $0["x"]!.gatherRows(rows) }
        let sequences = ranges(try integers("mean_pool.lengths"))
        try check("mean_pool", ["x"]) { meanPooled($0["x"]!, sequences: sequences) }
    }

    func testPatchEmbeddingAsIm2colAndMatmul() throws {
        try check("patch_embedding", ["images", "w", "b"]) {
            linear(extractPatches($0["images"]!, patch: 4), weight: $0["w"]!.reshaped([5, 48]), bias: $0["b"]!)
        }
    }

    func testCrossEntropyWithIgnoredTargetsAndLabelSmoothing() throws {
        let targets = try integers("cross_entropy.targets")
        try check("cross_entropy", ["logits"]) { try crossEntropy($0["logits"]!, targets: targets, ignoreIndex: -100) }
        try check("cross_entropy_smoothed", ["logits"]) {
            try crossEntropy($0["logits"]!, targets: targets, labelSmoothing: 0.1, ignoreIndex: -100)
        }
    }

    func testLearnedTemperatureClampedAtLn100() throws {
        let maximum = try constant("logit_scale.maximum").item
        for name in ["logit_scale", "logit_scale_clamped"] {
            try check(name, ["x", "s"]) { scaledByExponential($0["x"]!, logScale: $0["s"]!, maximum: maximum) }
        }
    }

    func testActivationMemoryIsReleasedDuringBackward() throws {
        let x = try store.tensor("softmax.x").copy()
        let tape = GradientTape()
        tape.watch(x)
        weak var hidden: Tensor?
        let loss: Tensor = try tape.record {
            let h = activated(x, .gelu)   // saved by the product's backward
            hidden = h
            return try crossEntropy(matmul(h, h, transposeB: true), targets: [0, 1, 2, 3, 4])
        }
        XCTAssertNotNil(hidden, "the tape keeps what the backward pass needs")
        try tape.backward(from: loss)
        XCTAssertNil(hidden, "activations are freed once the backward pass has used them")
        XCTAssertNotNil(tape.gradient(of: x))
    }

    func testNothingIsRecordedWithoutATape() throws {
        let x = try store.tensor("softmax.x").copy()
        let tape = GradientTape()
        tape.watch(x)
        let y = softmax(x)  // not inside record
        XCTAssertThrowsError(try tape.backward(from: y))
    }

    func ranges(_ lengths: [Int]) -> [Range<Int>] {
        var start = 0
        return lengths.map { length in
            defer { start += length }
            return start ..< start + length
        }
    }
}
