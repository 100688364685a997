import Foundation
import GlimpseCore
import GlimpseImage
import GlimpseText

/// A CLIP checkpoint ready for use on files and strings: the network plus the tokenizer
/// and image preprocessor saved beside it (what transformers splits into CLIPModel and
/// CLIPProcessor).
public final class CLIP: CheckpointLoadable, Sendable {
    public let model: CLIPModel
    public let checkpoint: Checkpoint
    private let tokenizerResult: Background<CLIPTokenizer>
    private let preprocessorResult: Result<ImagePreprocessor, GlimpseError>

    /// Loads a Hugging Face or open_clip CLIP folder (`init(model:)` also takes a Hub id). The
    /// tokenizer and preprocessor are looked for now but only required by the calls that need
    /// them, so a folder without preprocessor_config.json still embeds texts.
    public init(checkpoint: Checkpoint) throws {
        self.checkpoint = checkpoint
        model = try CLIPModel(checkpoint: checkpoint)
        let (folder, checkpoint) = (checkpoint.folder, checkpoint)
        tokenizerResult = checkpoint.clipTokenizerInBackground(embeddingRows: model.text.config.vocabularySize)
        let size = model.image.imageSize
        preprocessorResult = Result { let p = try OpenCLIPConfig(checkpoint: checkpoint).map { ImagePreprocessor(config: $0.preprocess) }
            ?? ImagePreprocessor.load(folder: folder); try p.validate(forModelInput: size, size); return p }.mapError(GlimpseError.wrap)
    }

    public var tokenizer: CLIPTokenizer { get throws { do { return try tokenizerResult.get() } catch { throw GlimpseError.wrap(error) } } }
    public var preprocessor: ImagePreprocessor { get throws { try preprocessorResult.get() } }
    public var contextLength: Int { model.text.config.maxPositions }

    /// Token ids of `text` as the model sees them (start and end tokens, no padding).
    public func tokenize(_ text: String, truncate: Bool = false) throws -> [Int] {
        try tokenizer.tokenize(text, contextLength: contextLength, truncate: truncate)
    }

    /// Pixel values [B, C, H, W] of decoded images, preprocessed in parallel.
    public func pixelValues(_ images: [RGBImage]) throws -> Tensor {
        try PixelBatch(images: images, preprocessor: preprocessor, size: model.image.imageSize).pixels
    }

    /// Image embeddings [B, projection]: L2-normalised, or with `normalize: false` the raw
    /// projected features (`get_image_features`).
    public func embed(images: [RGBImage], normalize: Bool = true) throws -> Tensor {
        // Preprocess pass by pass too: a long list of images never sits in memory as pixels at once.
        let per = CLIPModel.imagesPerPass
        let parts = try stride(from: 0, to: images.count, by: per).map {
            try model.imageFeatures(pixels: pixelValues(Array(images[$0 ..< min($0 + per, images.count)])))
        }
        let features = Tensor.concatenatingRows(parts, rowShape: [model.embeddingDim])
        if normalize { l2NormalizeInPlace(features) }
        return features
    }

    /// Decodes and embeds image files; the first file that cannot be read or decoded throws.
    public func embed(imageFiles: [String], normalize: Bool = true) throws -> Tensor {
        let rows = try embedEach(imageFiles: imageFiles, normalize: normalize).map { try $0.get() }
        return Tensor(shape: [rows.count, model.embeddingDim], values: rows.flatMap { $0 })
    }

    /// Embeddings of image files, one result per file in input order: a file that cannot be
    /// read or decoded fails on its own and the others are embedded. Files are decoded one at
    /// a time (see `PixelBatch`), `CLIPModel.imagesPerPass` per forward pass.
    public func embedEach(imageFiles: [String], normalize: Bool = true) throws -> [InputResult<[Float]>] {
        let preprocessor = try self.preprocessor
        var results: [InputResult<[Float]>] = []
        for start in stride(from: 0, to: imageFiles.count, by: CLIPModel.imagesPerPass) {
            let files = Array(imageFiles[start ..< min(start + CLIPModel.imagesPerPass, imageFiles.count)])
            let batch = try PixelBatch(files: files, preprocessor: preprocessor, size: model.image.imageSize)
            results += try batch.inputs.mapReady { _ in
                let features = try model.imageFeatures(pixels: batch.pixels)
                if normalize { l2NormalizeInPlace(features) }
                return features.rowArrays
            }
        }
        return results
    }

    /// Text embeddings [B, projection]: L2-normalised, or raw (`get_text_features`).
    public func embed(texts: [String], normalize: Bool = true, truncate: Bool = false) throws -> Tensor {
        let features = try model.textFeatures(ids: texts.map { try tokenize($0, truncate: truncate) })
        if normalize { l2NormalizeInPlace(features) }
        return features
    }

    /// Embeddings of texts, one result per text in input order: a text that cannot be
    /// tokenized (longer than the context without `truncate`) fails on its own.
    public func embedEach(texts: [String], normalize: Bool = true, truncate: Bool = false) throws -> [InputResult<[Float]>] {
        try texts.map { text in attempt { try tokenize(text, truncate: truncate) } }.mapReady { ids in
            let features = try model.textFeatures(ids: ids)
            if normalize { l2NormalizeInPlace(features) }
            return features.rowArrays
        }
    }
}

extension GlimpseError {
    /// Keeps a GlimpseError as it is and describes anything else.
    static func wrap(_ error: any Error) -> GlimpseError {
        error as? GlimpseError ?? .invalidArgument(String(describing: error))
    }
}
