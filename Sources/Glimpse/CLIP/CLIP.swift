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
    private let tokenizerResult: Result<CLIPTokenizer, GlimpseError>
    private let preprocessorResult: Result<ImagePreprocessor, GlimpseError>

    /// Loads a Hugging Face CLIP folder. The tokenizer and preprocessor are looked for now
    /// but only required by the calls that need them, so a folder without
    /// preprocessor_config.json still embeds texts.
    public init(folder path: String) throws {
        checkpoint = try Checkpoint(folder: path)
        model = try CLIPModel(checkpoint: checkpoint)
        let folder = checkpoint.folder
        tokenizerResult = Result { try CLIPTokenizer.load(folder: folder) }.mapError(GlimpseError.wrap)
        preprocessorResult = Result { try ImagePreprocessor.load(folder: folder) }.mapError(GlimpseError.wrap)
    }

    public var tokenizer: CLIPTokenizer { get throws { try tokenizerResult.get() } }
    public var preprocessor: ImagePreprocessor { get throws { try preprocessorResult.get() } }
    public var contextLength: Int { model.config.text.maxPositions }

    /// Token ids of `text` as the model sees them (start and end tokens, no padding).
    public func tokenize(_ text: String, truncate: Bool = false) throws -> [Int] {
        try tokenizer.tokenize(text, contextLength: contextLength, truncate: truncate)
    }

    /// Pixel values [B, C, H, W] of decoded images, preprocessed in parallel.
    public func pixelValues(_ images: [RGBImage]) throws -> Tensor {
        let preprocessor = try self.preprocessor
        let (h, w) = (preprocessor.outputHeight, preprocessor.outputWidth)
        let size = model.config.vision.imageSize
        guard h == size, w == size else {
            throw GlimpseError.invalidConfig("preprocessor_config.json gives \(w)×\(h) images but the model takes \(size)×\(size)")
        }
        return Profiler.measure(.preprocessing) {
            let pixels = Tensor(zeros: [images.count, 3, h, w])
            let plane = 3 * h * w
            Parallel.forEach(images.count) { range in
                for i in range { preprocessor.pixelValues(images[i], into: pixels.data + i * plane) }
            }
            return pixels
        }
    }

    /// Image embeddings [B, projection]: L2-normalised, or with `normalize: false` the raw
    /// projected features (`get_image_features`).
    public func embed(images: [RGBImage], normalize: Bool = true) throws -> Tensor {
        let features = try model.imageFeatures(pixels: pixelValues(images))
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
