import Foundation
import GlimpseCore
import GlimpseImage
import GlimpseText

/// A CLIP checkpoint ready for use on files and strings: the network plus the tokenizer
/// and image preprocessor saved beside it (what transformers splits into CLIPModel and
/// CLIPProcessor).
public final class CLIP: Sendable {
    public let model: CLIPModel
    public let checkpoint: Checkpoint
    private let tokenizerResult: Background<CLIPTokenizer>
    private let preprocessorResult: Result<ImagePreprocessor, GlimpseError>

    /// Loads a Hugging Face or open_clip CLIP folder. The tokenizer and preprocessor are looked for now
    /// but only required by the calls that need them, so a folder without
    /// preprocessor_config.json still embeds texts.
    public convenience init(folder path: String) throws {
        try self.init(checkpoint: Checkpoint(folder: path))
    }

    /// Loads from a located checkpoint, e.g. `ModelLocator.resolve("openai/clip-vit-base-patch32")`.
    public init(checkpoint: Checkpoint) throws {
        self.checkpoint = checkpoint
        model = try CLIPModel(checkpoint: checkpoint)
        let (folder, checkpoint) = (checkpoint.folder, checkpoint)
        tokenizerResult = Background { try CLIPTokenizer.load(folder: folder) }
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
        let preprocessor = try self.preprocessor
        let (h, w) = (model.image.imageSize, model.image.imageSize)
        return try Profiler.measure(.preprocessing) {
            let pixels = Tensor(zeros: [images.count, 3, h, w])
            try preprocessor.pixelValues(images, height: h, width: w, into: UnsafeMutableBufferPointer(start: pixels.data, count: pixels.count)) { Parallel.forEach($0, $1) }
            return pixels
        }
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

    /// Decodes and embeds image files.
    public func embed(imageFiles: [String], normalize: Bool = true) throws -> Tensor {
        let images = try Profiler.measure(.decode) {
            try imageFiles.map { try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: $0)) }
        }
        return try embed(images: images, normalize: normalize)
    }

    /// Text embeddings [B, projection]: L2-normalised, or raw (`get_text_features`).
    public func embed(texts: [String], normalize: Bool = true, truncate: Bool = false) throws -> Tensor {
        let features = try model.textFeatures(ids: texts.map { try tokenize($0, truncate: truncate) })
        if normalize { l2NormalizeInPlace(features) }
        return features
    }
}

extension GlimpseError {
    /// Keeps a GlimpseError as it is and describes anything else.
    static func wrap(_ error: any Error) -> GlimpseError {
        error as? GlimpseError ?? .invalidArgument(String(describing: error))
    }
}
