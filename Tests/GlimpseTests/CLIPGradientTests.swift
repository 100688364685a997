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
        let ids = try ModelGradientParity.ids(reference)

        let tape = GradientTape()
        for parameter in weights.parameters { tape.watch(parameter.tensor) }
        let loss = try tape.record { try model.contrastiveLoss(pixels: try reference.tensor("pixel_values"), ids: ids) }
        let expectedLoss = try reference.tensor("loss").item
        XCTAssertEqual(loss.item, expectedLoss, accuracy: 1e-4 * abs(expectedLoss))
        try tape.backward(from: loss)

        try ModelGradientParity.assertMatches(weights, tape, reference)
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
}
