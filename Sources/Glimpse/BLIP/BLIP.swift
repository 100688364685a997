import Foundation
import GlimpseCore
import GlimpseImage
import GlimpseText

/// One caption of one image.
public struct Caption: Sendable, Equatable {
    /// The decoded text, prompt included (as transformers' `decode(generate(...))`).
    public let text: String
    /// Every id of the generated sequence: [DEC], the prompt's pieces, new tokens, [SEP].
    public let ids: [Int]
    public let score: Float
}

/// A BLIP captioning checkpoint with its tokenizer and image processor
/// (BlipForConditionalGeneration + BlipProcessor).
public final class BLIPCaptioner: Sendable {
    public let model: BLIPCaptioningModel
    /// Decoding settings from the checkpoint's generation_config.json, else transformers' defaults.
    public let generationDefaults: GenerationOptions
    public let tokenizer: WordPieceTokenizer
    public let preprocessor: ImagePreprocessor

    /// Loads a model folder.
    public convenience init(folder path: String) throws {
        try self.init(checkpoint: Checkpoint(folder: path))
    }

    public init(checkpoint: Checkpoint) throws {
        let config = try BLIPConfig.load(checkpoint, expecting: "BlipForConditionalGeneration", as: "a captioning model")
        generationDefaults = try GenerationOptions(checkpoint: checkpoint)
        tokenizer = try WordPieceTokenizer.load(folder: checkpoint.folder)
        preprocessor = try BLIPImageProcessor.load(folder: checkpoint.folder)
        try preprocessor.validate(forModelInput: config.vision.imageSize, config.vision.imageSize)
        model = try BLIPCaptioningModel(config: config, weights: checkpoint.weights())
    }

    /// Prompt word pieces, as the decoder input after [DEC] (no [CLS]/[SEP]); nil for none.
    public func promptIds(_ prompt: String?) throws -> [Int] {
        guard let prompt else { return [] }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw GlimpseError.invalidArgument("the prompt is empty")
        }
        return try tokenizer.encode(prompt, addSpecialTokens: false)
    }

    /// Captions for decoded images, `options.numReturnSequences` per image.
    /// Without `options`, the checkpoint's generation_config.json (or transformers' defaults).
    public func caption(images: [RGBImage], prompt: String? = nil, options: GenerationOptions? = nil) throws -> [[Caption]] {
        let options = options ?? generationDefaults
        let pixels = try BLIPPixels.values(images, preprocessor, size: model.config.vision.imageSize)
        let sequences = try model.generate(pixels: pixels, promptIds: promptIds(prompt), options: options)
        let special: Set<Int> = [model.config.text.bosTokenId, model.config.text.sepTokenId, model.config.text.padTokenId]
        return sequences.map { list in
            list.map { Caption(text: tokenizer.decode($0.ids.filter { !special.contains($0) }), ids: $0.ids, score: $0.score) }
        }
    }
}

/// One (image, text) comparison.
public struct MatchScore: Sendable, Equatable {
    /// P(match) from the ITM head's softmax; nil when not computed.
    public let itm: Float?
    /// Cosine of the ITC embeddings; nil when not computed.
    public let itc: Float?
}

/// A BLIP retrieval checkpoint with its tokenizer and image processor
/// (BlipForImageTextRetrieval + BlipProcessor).
public final class BLIPMatcher: Sendable {
    public let model: BLIPRetrievalModel
    public let tokenizer: WordPieceTokenizer
    public let preprocessor: ImagePreprocessor

    /// Loads a model folder.
    public convenience init(folder path: String) throws {
        try self.init(checkpoint: Checkpoint(folder: path))
    }

    public init(checkpoint: Checkpoint) throws {
        let config = try BLIPConfig.load(checkpoint, expecting: "BlipForImageTextRetrieval", as: "an image-text matching model")
        tokenizer = try WordPieceTokenizer.load(folder: checkpoint.folder)
        preprocessor = try BLIPImageProcessor.load(folder: checkpoint.folder)
        try preprocessor.validate(forModelInput: config.vision.imageSize, config.vision.imageSize)
        model = try BLIPRetrievalModel(config: config, weights: checkpoint.weights())
    }

    /// [CLS] text [SEP], as BlipProcessor gives it (transformers feeds these ids to ITM as well).
    public func tokenize(_ text: String) throws -> [Int] {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw GlimpseError.invalidArgument("a text to match is empty")
        }
        return try tokenizer.encode(text, maxLength: model.config.text.bert.maxPositions)
    }

    /// Scores [image][text] for every pair; `itm`/`itc` choose what is computed.
    public func match(images: [RGBImage], texts: [String], itm: Bool = true, itc: Bool = true) throws -> [[MatchScore]] {
        let ids = try texts.map(tokenize)
        let pixels = try BLIPPixels.values(images, preprocessor, size: model.config.vision.imageSize)
        let states = try model.vision(pixels)
        var cosines: Tensor?
        if itc {
            cosines = matmulTransposed(model.imageEmbeddings(imageStates: states, images: images.count),
                                       try model.textEmbeddings(ids: ids))
        }
        var probabilities: Tensor?
        if itm {
            let pairs = images.indices.flatMap { i in ids.indices.map { (i, $0) } }
            let logits = try model.itmLogits(imageStates: states, images: images.count, ids: pairs.map { ids[$0.1] },
                                             imageOf: pairs.map(\.0))
            softmaxInPlace(logits)
            probabilities = logits
        }
        return images.indices.map { i in
            texts.indices.map { j in
                let pair = i * texts.count + j
                return MatchScore(itm: probabilities.map { $0.data[pair * 2 + 1] }, itc: cosines.map { $0.data[pair] })
            }
        }
    }
}

enum BLIPPixels {
    /// Pixel values [B, 3, size, size] of decoded images, preprocessed in parallel.
    static func values(_ images: [RGBImage], _ preprocessor: ImagePreprocessor, size: Int) throws -> Tensor {
        guard !images.isEmpty else { throw GlimpseError.invalidArgument("no images") }
        let pixels = Tensor(zeros: [images.count, 3, size, size])
        try preprocessor.pixelValues(images, height: size, width: size, into: UnsafeMutableBufferPointer(start: pixels.data, count: pixels.count)) { Parallel.forEach($0, $1) }
        return pixels
    }
}

extension BLIPConfig {
    /// config.json of a BLIP folder, refusing a checkpoint of the other BLIP head.
    static func load(_ checkpoint: Checkpoint, expecting architecture: String, as description: String) throws -> BLIPConfig {
        let config = try BLIPConfig(reader: checkpoint.config())
        if let found = config.architecture, found != architecture {
            throw GlimpseError.invalidArgument("\(checkpoint.folder.path) holds a \(found), not \(description) (\(architecture))")
        }
        return config
    }
}
