import XCTest
@testable import Glimpse

/// The whole CLIP model differentiated through the tape: the contrastive loss and the gradient
/// of every parameter of the tiny seeded checkpoint against transformers' CLIPModel
/// (return_loss=True) on the same weights and batch (Tools/fixtures/make_autodiff_fixtures.py).
/// Tolerance: 1e-4 relative, i.e. max |a − b| ≤ 1e-4 · max |b| per tensor.
final class CLIPGradientTests: XCTestCase {
    func testLossAndEveryParameterGradientMatchTransformers() throws {
        let checkpoint = try Checkpoint(folder: Fixtures.path("clip-tiny"))
        let weights = try TrainableWeights(copying: try checkpoint.weights())
        let model = try CLIPModel(config: CLIPConfig(reader: checkpoint.config()), weights: weights)
        let reference = try SafetensorsFile(path: Fixtures.path("autodiff/clip-tiny-gradients.safetensors"))
        let flat = try reference.tensor("ids").scalars.map { Int($0) }
        var start = 0
        let ids = try reference.tensor("lengths").scalars.map { length -> [Int] in
            defer { start += Int(length) }
            return Array(flat[start ..< start + Int(length)])
        }

        let tape = GradientTape()
        for parameter in weights.parameters { tape.watch(parameter.tensor) }
        let loss = try tape.record { try model.contrastiveLoss(pixels: try reference.tensor("pixel_values"), ids: ids) }
        let expectedLoss = try reference.tensor("loss").item
        XCTAssertEqual(loss.item, expectedLoss, accuracy: 1e-4 * abs(expectedLoss))
        try tape.backward(from: loss)

        var compared = 0
        for (name, parameter) in weights.parameters {
            let gradient = try XCTUnwrap(tape.gradient(of: parameter), name)
            if let rows = try reference.optionalTensor("grad_rows.\(name)") {
                // Embedding rows the batch never uses get no gradient.
                let used = try reference.tensor("grad_row_ids.\(name)").scalars.map { Int($0) }
                let picked = gradient.gatherRows(used)
                assertClose(picked.scalars, rows.scalars, abs: 1e-4 * maxMagnitude(rows), name)
                let usedSet = Set(used), width = gradient.rowSize, values = gradient.scalars
                let stray = (0 ..< gradient.shape[0]).filter { !usedSet.contains($0) }
                    .contains { row in (0 ..< width).contains { values[row * width + $0] != 0 } }
                XCTAssertFalse(stray, "\(name): gradient outside the rows the batch uses")
            } else if name.hasSuffix("k_proj.bias") {
                // A key bias shifts every score of a query row by the same q·b, which softmax
                // ignores: its gradient is zero, and both sides hold only rounding noise.
                let expected = try reference.tensor("grad.\(name)")
                XCTAssertLessThan(maxMagnitude(expected), 1e-6, name)
                XCTAssertLessThan(maxMagnitude(gradient), 1e-6, name)
            } else {
                let expected = try reference.tensor("grad.\(name)")
                assertClose(gradient.scalars, expected.scalars, abs: 1e-4 * maxMagnitude(expected), name)
            }
            compared += 1
        }
        XCTAssertEqual(compared, reference.names.filter { $0.hasPrefix("grad.") || $0.hasPrefix("grad_rows.") }.count,
                       "every parameter transformers differentiates is compared")
    }

    func testInferenceOnTrainableWeightsMatchesTheMemoryMappedModel() throws {
        let checkpoint = try Checkpoint(folder: Fixtures.path("clip-tiny"))
        // The memory-mapped store itself (no precision): linear layers unpacked, as in training.
        let mapped = try CLIPModel(config: CLIPConfig(reader: checkpoint.config()),
                                   weights: SafetensorsFile(path: checkpoint.file("model.safetensors").path))
        let owned = try CLIPModel(config: CLIPConfig(reader: checkpoint.config()),
                                  weights: try TrainableWeights(copying: try checkpoint.weights()))
        let ids = [[49406, 320, 1125, 49407]]
        XCTAssertEqual(try owned.textFeatures(ids: ids).scalars, try mapped.textFeatures(ids: ids).scalars)
        // Loaded for inference (fp32 layers packed where that is faster): the same within rounding.
        assertClose(try CLIPModel(checkpoint: checkpoint).textFeatures(ids: ids).scalars,
                    try owned.textFeatures(ids: ids).scalars, abs: 1e-5, "packed fp32 inference")
    }

    private func maxMagnitude(_ t: Tensor) -> Float { t.scalars.map(abs).max() ?? 0 }
}
