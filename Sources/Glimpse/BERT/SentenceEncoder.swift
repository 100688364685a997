import Foundation
import GlimpseCore
import GlimpseText

/// A sentence-transformers BERT folder (e.g. all-MiniLM-L6-v2) ready for strings: WordPiece
/// tokenisation, the encoder, mean pooling and L2 normalisation.
public final class SentenceEncoder: CheckpointLoadable, Sendable {
    public let model: BERTModel
    public let tokenizer: WordPieceTokenizer
    /// Longest input in tokens: sentence_bert_config.json's `max_seq_length`, else the model's positions.
    public let maxLength: Int

    /// The model's files and sentence_bert_config.json, which bounds the input length.
    public static var files: ModelFiles {
        var files = ModelFiles.model
        files.optional.append("sentence_bert_config.json")
        return files
    }

    /// Loads a sentence-transformers folder (`init(model:)` also takes a Hub id).
    public init(checkpoint: Checkpoint) throws {
        model = try BERTModel(checkpoint: checkpoint)
        tokenizer = try WordPieceTokenizer.load(folder: checkpoint.folder)
        try checkpoint.requireTokenizerFits(vocabularySize: tokenizer.vocabularySize, embeddingRows: model.config.vocabularySize,
                                            table: "word_embeddings")
        var limit = model.config.maxPositions
        if checkpoint.exists("sentence_bert_config.json") {
            let reader = try ConfigReader(contentsOf: checkpoint.file("sentence_bert_config.json"), what: "sentence_bert_config.json")
            limit = min(limit, try reader.int("max_seq_length", default: limit, min: 2))
        }
        maxLength = limit
    }

    /// Embeddings [texts, hidden]; longer texts fail unless `truncate`, as sentence-transformers cuts them.
    public func embed(texts: [String], normalize: Bool = true, truncate: Bool = false) throws -> Tensor {
        let ids = try texts.map { try tokenizer.encode($0, maxLength: maxLength, truncate: truncate) }
        return try model.sentenceEmbeddings(ids, normalize: normalize)
    }

    /// Embeddings of texts, one result per text in input order: a text longer than
    /// `maxLength` without `truncate` fails on its own and the others are embedded.
    public func embedEach(texts: [String], normalize: Bool = true, truncate: Bool = false) throws -> [InputResult<[Float]>] {
        try texts.map { text in attempt { try tokenizer.encode(text, maxLength: maxLength, truncate: truncate) } }
            .mapReady { ids in try model.sentenceEmbeddings(ids, normalize: normalize).rowArrays }
    }
}
