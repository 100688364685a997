import XCTest
@testable import Glimpse

/// BLIP differentiated through the tape: ITC (soft targets) + ITM on the retrieval model, and
/// the LM loss on the captioner, the losses and every parameter's gradient against PyTorch
/// autograd through transformers' BLIP modules on the same tiny seeded checkpoints
/// (Tools/fixtures/make_blip_gradient_fixtures.py).
final class BLIPGradientTests: XCTestCase {
    func testContrastiveAndMatchingLossesAndGradientsMatchPyTorch() throws {
        let checkpoint = try Checkpoint(folder: Fixtures.path("blip-itm-tiny"))
        let weights = try TrainableWeights(copying: try checkpoint.weights())
        let model = try BLIPRetrievalModel(config: BLIPConfig(reader: checkpoint.config()), weights: weights)
        let reference = try SafetensorsFile(path: Fixtures.path("autodiff/blip-itm-tiny-gradients.safetensors"))
        let ids = try ModelGradientParity.ids(reference)
        let temperature = try reference.tensor("temperature").copy()
        let given = HardNegatives(textForImage: try reference.tensor("negative_text").scalars.map { Int($0) },
                                  imageForText: try reference.tensor("negative_image").scalars.map { Int($0) })

        let tape = GradientTape()
        for parameter in weights.parameters { tape.watch(parameter.tensor) }
        tape.watch(temperature)
        let losses = try tape.record {
            try model.contrastiveAndMatchingLosses(
                pixels: try reference.tensor("pixel_values"), ids: ids, temperature: temperature,
                momentumSimilarities: try reference.tensor("momentum_similarities"),
                alpha: try reference.tensor("alpha").item, negatives: { _ in given })
        }
        let itc = try reference.tensor("loss_itc").item, itm = try reference.tensor("loss_itm").item
        XCTAssertEqual(losses.contrastive.item, itc, accuracy: 1e-4 * abs(itc))
        XCTAssertEqual(losses.matching.item, itm, accuracy: 1e-4 * abs(itm))
        let total = tape.record { losses.total }
        try tape.backward(from: total)

        let expected = try reference.tensor("grad_temperature")
        assertClose(try XCTUnwrap(tape.gradient(of: temperature)).scalars, expected.scalars,
                    abs: 1e-4 * ModelGradientParity.maxMagnitude(expected), "temperature")
        try ModelGradientParity.assertMatches(weights, tape, reference)
    }

    func testLanguageModellingLossAndGradientsMatchTransformers() throws {
        let checkpoint = try Checkpoint(folder: Fixtures.path("blip-caption-tiny"))
        let weights = try TrainableWeights(copying: try checkpoint.weights())
        let model = try BLIPCaptioningModel(config: BLIPConfig(reader: checkpoint.config()), weights: weights)
        let reference = try SafetensorsFile(path: Fixtures.path("autodiff/blip-caption-tiny-gradients.safetensors"))
        let ids = try ModelGradientParity.ids(reference)

        let tape = GradientTape()
        for parameter in weights.parameters { tape.watch(parameter.tensor) }
        let loss = try tape.record {
            try model.languageModelingLoss(pixels: try reference.tensor("pixel_values"), ids: ids, labelSmoothing: 0.1)
        }
        let expected = try reference.tensor("loss_lm").item
        XCTAssertEqual(loss.item, expected, accuracy: 1e-4 * abs(expected))
        try tape.backward(from: loss)
        // The word embeddings are also the LM head's output weights: every row has a gradient,
        // and the reference holds the batch's rows and a sample of the others.
        try ModelGradientParity.assertMatches(weights, tape, reference, rowsAreExhaustive: false)
    }
}
