import Foundation
import GlimpseCore

/// A Hugging Face `BertModel` checkpoint used as a sentence encoder (sentence-transformers
/// models such as all-MiniLM-L6-v2): last hidden states, and sentence embeddings by mean
/// pooling over each text's tokens followed by L2 normalisation, as the checkpoint's
/// `1_Pooling` + `Normalize` modules do.
public final class BERTModel: Sendable {
    public let config: BERTConfig
    public let encoder: BERTEncoder

    public init(config: BERTConfig, weights: WeightStore) throws {
        self.config = config
        // Bare BertModel checkpoints name tensors `embeddings.*`; BertFor* heads add `bert.`.
        let prefix = weights.contains("embeddings.word_embeddings.weight") ? "" : "bert"
        encoder = try BERTEncoder(weights, prefix: prefix, config: config)
    }

    /// Loads config.json (model_type "bert") and the weights of a model folder.
    public convenience init(checkpoint: Checkpoint) throws {
        let reader = try checkpoint.config()
        try reader.requireModelType("bert", "a BERT checkpoint")
        try self.init(config: BERTConfig(reader), weights: checkpoint.weights())
    }

    /// Last hidden states of packed texts, [Σ lengths, hidden], and each text's rows.
    public func lastHiddenState(_ batch: [[Int]]) throws -> (states: Tensor, sequences: [Range<Int>]) {
        try encoder(batch)
    }

    /// Sentence embeddings [B, hidden]: the mean of each text's token states (every token,
    /// [CLS] and [SEP] included, as the attention mask has them), L2-normalised unless told not to.
    public func sentenceEmbeddings(_ batch: [[Int]], normalize: Bool = true) throws -> Tensor {
        let (states, sequences) = try encoder(batch)
        let d = config.tower.hiddenSize
        let out = Tensor(zeros: [batch.count, d])
        for (i, range) in sequences.enumerated() {
            let row = out.rows(i ..< i + 1)
            for r in range { addInPlace(row, states.rows(r ..< r + 1)) }
            scaleInPlace(row, 1 / Float(range.count))
        }
        if normalize { l2NormalizeInPlace(out) }
        return out
    }
}
