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
public final class BLIPCaptioner: CheckpointLoadable, Sendable {
    /// Where it was loaded from.
    public let checkpoint: Checkpoint
    public let model: BLIPCaptioningModel
    /// Decoding settings from the checkpoint's generation_config.json, else transformers' defaults.
    public let generationDefaults: GenerationOptions
    public let tokenizer: WordPieceTokenizer
    public let preprocessor: ImagePreprocessor

    /// The model's files and generation_config.json, whose decoding settings are the defaults.
    public static var files: ModelFiles {
        var files = ModelFiles.model
        files.optional.append("generation_config.json")
        return files
    }

    /// Loads a captioning folder (`init(model:)` also takes a Hub id).
    public init(checkpoint: Checkpoint) throws {
        let config = try BLIPConfig.load(checkpoint, expecting: "BlipForConditionalGeneration", as: "a captioning model")
        self.checkpoint = checkpoint
        generationDefaults = try GenerationOptions(checkpoint: checkpoint)
        tokenizer = try WordPieceTokenizer.load(folder: checkpoint.folder)
        preprocessor = try BLIPImageProcessor.load(folder: checkpoint.folder)
        try preprocessor.validate(forModelInput: config.vision.imageSize, config.vision.imageSize)
        model = try BLIPCaptioningModel(config: config, weights: checkpoint.weights())
        try checkpoint.requireTokenizerFits(vocabularySize: tokenizer.vocabularySize, embeddingRows: config.text.bert.vocabularySize,
                                            table: "word_embeddings")
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
        guard !images.isEmpty else { throw GlimpseError.invalidArgument("no images") }
        let pixels = try PixelBatch(images: images, preprocessor: preprocessor, size: model.config.vision.imageSize).pixels
        return try captions(pixels: pixels, promptIds: promptIds(prompt), options: options ?? generationDefaults)
    }

    /// Captions for image files, one result per file in input order: a file that cannot be
    /// read or decoded fails on its own and the others are captioned. Files are decoded one
    /// at a time (see `PixelBatch`).
    public func captionEach(imageFiles: [String], prompt: String? = nil, options: GenerationOptions? = nil) throws -> [InputResult<[Caption]>] {
        let prompt = try promptIds(prompt)
        let batch = try PixelBatch(files: imageFiles, preprocessor: preprocessor, size: model.config.vision.imageSize)
        return try batch.inputs.mapReady { _ in try captions(pixels: batch.pixels, promptIds: prompt, options: options ?? generationDefaults) }
    }

    /// Captions for images already preprocessed by `preprocessor` ([N, 3, S, S]): for a
    /// caller that decodes each image once for several models.
    public func caption(pixels: Tensor, prompt: String? = nil, options: GenerationOptions? = nil) throws -> [[Caption]] {
        let size = model.config.vision.imageSize
        guard pixels.shape.count == 4, pixels.shape[0] > 0, Array(pixels.shape.dropFirst()) == [3, size, size] else {
            throw GlimpseError.invalidArgument("pixels of shape \(pixels.shape) given to BLIP (expected [N, 3, \(size), \(size)])")
        }
        return try captions(pixels: pixels, promptIds: promptIds(prompt), options: options ?? generationDefaults)
    }

    private func captions(pixels: Tensor, promptIds: [Int], options: GenerationOptions) throws -> [[Caption]] {
        let sequences = try model.generate(pixels: pixels, promptIds: promptIds, options: options)
        return sequences.map { list in list.map { Caption(text: text(of: $0.ids), ids: $0.ids, score: $0.score) } }
    }
}

extension BLIPCaptioner {
    /// The text of generated ids, special tokens ([DEC], [SEP], [PAD]) left out.
    public func text<Ids: Sequence<Int>>(of ids: Ids) -> String {
        let config = model.config.text
        let special: Set<Int> = [config.bosTokenId, config.sepTokenId, config.padTokenId]
        return tokenizer.decode(ids.filter { !special.contains($0) })
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
public final class BLIPMatcher: CheckpointLoadable, Sendable {
    /// Where it was loaded from.
    public let checkpoint: Checkpoint
    public let model: BLIPRetrievalModel
    public let tokenizer: WordPieceTokenizer
    public let preprocessor: ImagePreprocessor

    /// Loads an image-text matching folder (`init(model:)` also takes a Hub id).
    public init(checkpoint: Checkpoint) throws {
        let config = try BLIPConfig.load(checkpoint, expecting: "BlipForImageTextRetrieval", as: "an image-text matching model")
        self.checkpoint = checkpoint
        tokenizer = try WordPieceTokenizer.load(folder: checkpoint.folder)
        preprocessor = try BLIPImageProcessor.load(folder: checkpoint.folder)
        try preprocessor.validate(forModelInput: config.vision.imageSize, config.vision.imageSize)
        model = try BLIPRetrievalModel(config: config, weights: checkpoint.weights())
        try checkpoint.requireTokenizerFits(vocabularySize: tokenizer.vocabularySize, embeddingRows: config.text.bert.vocabularySize,
                                            table: "word_embeddings")
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
        guard !images.isEmpty else { throw GlimpseError.invalidArgument("no images") }
        let pixels = try PixelBatch(images: images, preprocessor: preprocessor, size: model.config.vision.imageSize).pixels
        return try scores(pixels: pixels, ids: ids, itm: itm, itc: itc)
    }

    /// Token ids of texts, one result per text in input order: an empty text fails on its own.
    public func tokenizeEach(_ texts: [String]) -> [InputResult<[Int]>] {
        texts.map { text in attempt { try tokenize(text) } }
    }

    /// Scores [text] for each image file against texts already tokenized (`tokenizeEach`), one
    /// result per file in input order: a file that cannot be read or decoded fails on its own.
    public func matchEach(imageFiles: [String], ids: [[Int]], itm: Bool = true, itc: Bool = true) throws -> [InputResult<[MatchScore]>] {
        guard !ids.isEmpty else { throw GlimpseError.invalidArgument("no texts to match") }
        let batch = try PixelBatch(files: imageFiles, preprocessor: preprocessor, size: model.config.vision.imageSize)
        return try batch.inputs.mapReady { _ in try scores(pixels: batch.pixels, ids: ids, itm: itm, itc: itc) }
    }

    private func scores(pixels: Tensor, ids: [[Int]], itm: Bool, itc: Bool) throws -> [[MatchScore]] {
        let images = pixels.shape[0]
        let states = try model.vision(pixels)
        var cosines: Tensor?
        if itc {
            cosines = matmulTransposed(model.imageEmbeddings(imageStates: states, images: images),
                                       try model.textEmbeddings(ids: ids))
        }
        var probabilities: Tensor?
        if itm {
            let pairs = (0..<images).flatMap { i in ids.indices.map { (i, $0) } }
            let logits = try model.itmLogits(imageStates: states, images: images, ids: pairs.map { ids[$0.1] },
                                             imageOf: pairs.map(\.0))
            softmaxInPlace(logits)
            probabilities = logits
        }
        let itmValues = probabilities?.scalars, itcValues = cosines?.scalars
        return (0..<images).map { i in
            ids.indices.map { j in
                let pair = i * ids.count + j
                return MatchScore(itm: itmValues.map { $0[pair * 2 + 1] }, itc: itcValues.map { $0[pair] })
            }
        }
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
