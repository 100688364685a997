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
        assertClose(try XCTUnwrap(model.vision).hiddenStates(pixels).scalars, try ref.floats("vision_last_hidden_state"),
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

/// The whole pipeline from files and strings, against the reference processor + model.
final class CLIPPipelineTests: XCTestCase {
    func testFilesAndStringsMatchReference() throws {
        let ref = try Fixtures.json("clip/clip-tiny.json")
        let clip = try CLIP(folder: Fixtures.path("clip-tiny"))
        let images = try XCTUnwrap(ref["images"] as? [String]).map { Fixtures.path("images/\($0)") }
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        XCTAssertEqual(try texts.map { try clip.tokenize($0) }, try ref.idLists("ids"))
        let pixels = try clip.pixelValues(images.map { try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: $0)) })
        assertClose(pixels.scalars, try ref.floats("pixel_values"), abs: 0.02, "pixel values")
        let imageEmbeds = try clip.embed(imageFiles: images)
        let textEmbeds = try clip.embed(texts: texts)
        assertClose(imageEmbeds.scalars, try ref.floats("image_embeds"), abs: 1e-4, "image embeds from files")
        assertClose(textEmbeds.scalars, try ref.floats("text_embeds"), abs: 1e-4, "text embeds from strings")
        let raw = try clip.embed(texts: texts, normalize: false)
        assertClose(raw.scalars, try ref.floats("text_features"), abs: 1e-4, "raw text features")
    }

    /// One template: the classifier's logits are exactly the model's logits_per_image.
    /// Several: each label embedding is the normalised mean of its normalised template embeddings.
    func testZeroShotClassifier() throws {
        let ref = try Fixtures.json("clip/clip-tiny.json")
        let clip = try CLIP(folder: Fixtures.path("clip-tiny"))
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let image = Tensor(shape: [3, 12], values: try ref.floats("image_embeds"))
        let expected = try ref.floats("logits_per_image")
        let single = try ZeroShotClassifier(clip: clip, labels: texts, templates: ["{}"]).classify(imageEmbeddings: image)
        for (i, ranking) in single.enumerated() {
            for score in ranking {
                let j = try XCTUnwrap(texts.firstIndex(of: score.label))
                XCTAssertEqual(score.logit, expected[i * texts.count + j], accuracy: 1e-4)
            }
        }
        let templates = ["a photo of a {}.", "a sketch of a {}."]
        let ensemble = try ZeroShotClassifier(clip: clip, labels: ["cat", "dog"], templates: templates)
        for (j, label) in ["cat", "dog"].enumerated() {
            let parts = try clip.embed(texts: templates.map { $0.replacingOccurrences(of: "{}", with: label) })
            var mean = (0..<12).map { parts[0, $0] + parts[1, $0] }
            let norm = mean.map { $0 * $0 }.reduce(0, +).squareRoot()
            mean = mean.map { $0 / norm }
            for c in 0..<12 { XCTAssertEqual(ensemble.labelEmbeddings[j, c], mean[c], accuracy: 1e-6) }
        }
        XCTAssertThrowsError(try ZeroShotClassifier(clip: clip, labels: []))
        XCTAssertThrowsError(try ZeroShotClassifier(clip: clip, labels: ["a", " "]))
        XCTAssertThrowsError(try ZeroShotClassifier(clip: clip, labels: ["a"], templates: ["no slot"]))
    }
}

/// Long inputs run as several bounded passes; results equal one input at a time.
final class CLIPPassTests: XCTestCase {
    func testManyTextsAndImagesSplitIntoPasses() throws {
        let model = try CLIPModel(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")))
        var rng = SplitMix64(seed: 21)
        let texts = (0..<700).map { i in [49406] + (0..<(3 + i % 9)).map { _ in Int(rng.next() % 49000) } + [49407] }
        XCTAssertGreaterThan(texts.map(\.count).reduce(0, +), CLIPModel.tokensPerPass, "must need several passes")
        let all = try model.textFeatures(ids: texts)
        XCTAssertEqual(all.shape, [700, 12])
        for i in [0, 350, 699] {
            let one = try model.textFeatures(ids: [texts[i]])
            assertClose(one.scalars, Array(all.scalars[i * 12 ..< (i + 1) * 12]), abs: 1e-5, "text \(i)")
        }
        let count = CLIPModel.imagesPerPass + 3
        let pixels = Tensor(shape: [count, 3, 64, 64], values: (0 ..< count * 3 * 64 * 64).map { _ in rng.uniform(-2, 2) })
        let images = try model.imageFeatures(pixels: pixels)
        XCTAssertEqual(images.shape, [count, 12])
        for i in [0, count - 1] {
            let one = try model.imageFeatures(pixels: pixels.rows(i ..< i + 1))
            assertClose(one.scalars, Array(images.scalars[i * 12 ..< (i + 1) * 12]), abs: 1e-5, "image \(i)")
        }
    }
}
