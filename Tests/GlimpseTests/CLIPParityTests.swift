import XCTest
@testable import Glimpse

/// CLIP against transformers' CLIPModel on seeded random weights (Tools/fixtures/make_clip_fixtures.py).
///
/// Tolerances: max abs error ≤ 1e-4 on features, embeddings and logits_per_image, and per
/// vector ≤ 1e-4 × its norm. Measured (2026-11-29): tiny fixtures ≤ 4e-6 everywhere; the
/// full-size random ViT-B/32-shaped model (`make_clip_fixtures.py --full DIR`, then
/// `GLIMPSE_FULL_CLIP=DIR swift test --filter testFullSize`, not committed: 605 MB) gave
/// image features 2.5e-6, text features 3.5e-6, logits_per_image 1.3e-6 max abs error.
final class CLIPParityTests: XCTestCase {
    func check(_ name: String, features: Bool = true) throws {
        let ref = try Fixtures.json("clip/\(name).json")
        let model = try CLIPModel(checkpoint: Checkpoint(folder: Fixtures.path(name)))
        let shape = try ref.ints("pixel_shape")
        let pixels = Tensor(shape: shape, values: try ref.floats("pixel_values"))
        let ids = try ref.idLists("ids")
        let dim = model.embeddingDim

        let imageFeatures = try model.imageFeatures(pixels: pixels)
        let textFeatures = try model.textFeatures(ids: ids)
        assertClose(imageFeatures.scalars, try ref.floats("image_features"), abs: 1e-4, relative: 1e-4, row: dim, "\(name) image features")
        assertClose(textFeatures.scalars, try ref.floats("text_features"), abs: 1e-4, relative: 1e-4, row: dim, "\(name) text features")

        l2NormalizeInPlace(imageFeatures)
        l2NormalizeInPlace(textFeatures)
        assertClose(imageFeatures.scalars, try ref.floats("image_embeds"), abs: 1e-4, relative: 1e-4, row: dim, "\(name) image embeds")
        assertClose(textFeatures.scalars, try ref.floats("text_embeds"), abs: 1e-4, relative: 1e-4, row: dim, "\(name) text embeds")
        let logits = model.logits(images: imageFeatures, texts: textFeatures)
        XCTAssertEqual(logits.shape, [shape[0], ids.count])
        assertClose(logits.scalars, try ref.floats("logits_per_image"), abs: 1e-4, "\(name) logits_per_image")
    }

    /// fp16 checkpoint, real vocabulary size, QuickGELU, EOS pooling by eos_token_id.
    func testTinyCheckpointMatchesReference() throws { try check("clip-tiny") }

    /// Sharded fp32 checkpoint, GELU (erf) text and GELU (tanh) vision, legacy argmax pooling,
    /// texts of different lengths packed into one batch.
    func testVariantCheckpointMatchesReference() throws {
        try check("clip-tiny-variant")
        let ref = try Fixtures.json("clip/clip-tiny-variant.json")
        let model = try CLIPModel(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny-variant")))
        let pixels = Tensor(shape: try ref.ints("pixel_shape"), values: try ref.floats("pixel_values"))
        assertClose(try model.vision.hiddenStates(pixels).scalars, try ref.floats("vision_last_hidden_state"),
                    abs: 1e-4, "vision last hidden state")
    }

    /// Each text alone gives what it gives inside a batch: packing has no cross-talk.
    func testBatchingDoesNotChangeResults() throws {
        let ref = try Fixtures.json("clip/clip-tiny-variant.json")
        let model = try CLIPModel(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny-variant")))
        let ids = try ref.idLists("ids")
        let batched = try model.textFeatures(ids: ids).scalars
        let dim = model.embeddingDim
        for (i, text) in ids.enumerated() {
            let single = try model.textFeatures(ids: [text]).scalars
            assertClose(single, Array(batched[i * dim ..< (i + 1) * dim]), abs: 1e-5, "text \(i) alone vs batched")
        }
    }

    func testFullSizeModelWhenAvailable() throws {
        guard let folder = ProcessInfo.processInfo.environment["GLIMPSE_FULL_CLIP"] else {
            throw XCTSkip("set GLIMPSE_FULL_CLIP to a folder made by make_clip_fixtures.py --full")
        }
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/reference.json"))) as? [String: Any])
        let model = try CLIPModel(checkpoint: Checkpoint(folder: folder))
        let pixels = Tensor(shape: try ref.ints("pixel_shape"), values: try ref.floats("pixel_values"))
        let image = try model.imageFeatures(pixels: pixels)
        let text = try model.textFeatures(ids: try ref.idLists("ids"))
        let dim = model.embeddingDim
        assertClose(image.scalars, try ref.floats("image_features"), abs: 1e-4, relative: 1e-4, row: dim, "full image features")
        assertClose(text.scalars, try ref.floats("text_features"), abs: 1e-4, relative: 1e-4, row: dim, "full text features")
        l2NormalizeInPlace(image); l2NormalizeInPlace(text)
        assertClose(model.logits(images: image, texts: text).scalars, try ref.floats("logits_per_image"), abs: 1e-4, "full logits")
    }
}
