import GlimpseCore

/// CLIP's text tower: token + position embeddings, a causal pre-LN transformer, a final LN,
/// and the hidden state at the end-of-text token as the text representation.
///
/// Texts are packed back to back, never padded: with causal attention and end-of-text
/// pooling, tokens after EOT cannot change the result, so they are not computed at all.
public struct CLIPTextTransformer: Sendable {
    public let config: CLIPTextConfig
    let tokenEmbedding: Tensor      // [vocab, hidden]
    let positionEmbedding: Tensor   // [maxPositions, hidden]
    let encoder: PreNormEncoder
    let finalNorm: LayerNorm

    public init(_ store: WeightStore, prefix: String, config: CLIPTextConfig) throws {
        self.config = config
        let d = config.tower.hiddenSize
        tokenEmbedding = try store.tensor("\(prefix).embeddings.token_embedding.weight", shape: [config.vocabularySize, d])
        positionEmbedding = try store.tensor("\(prefix).embeddings.position_embedding.weight", shape: [config.maxPositions, d])
        encoder = try PreNormEncoder(store, "\(prefix).encoder", config.tower)
        finalNorm = try LayerNorm(store, "\(prefix).final_layer_norm", dim: d, eps: config.tower.layerNormEps)
    }

    /// Encoder output before the final LN, packed [Σ lengths, hidden].
    private func encode(_ batch: [[Int]]) throws -> (states: Tensor, sequences: [Range<Int>]) {
        let sequences = try packedSequences(batch, vocabularySize: config.vocabularySize, maxPositions: config.maxPositions)
        let tokens = embeddingLookup(tokenEmbedding, ids: batch.flatMap { $0 })
        addPositionEmbeddingsInPlace(tokens, positionEmbedding, sequences: sequences)
        return (encoder(tokens, sequences: sequences, causal: true), sequences)
    }

    /// Final hidden states of all tokens, packed [Σ lengths, hidden], after the final LN.
    public func hiddenStates(_ batch: [[Int]]) throws -> (states: Tensor, sequences: [Range<Int>]) {
        let (hidden, sequences) = try encode(batch)
        return (finalNorm(hidden), sequences)
    }

    /// The position the reference pools at: the first `eos_token_id`, or for legacy configs
    /// (eos_token_id = 2) the largest id; a text without EOS pools at position 0, as
    /// argmax over an all-false mask does in the reference.
    public func poolingIndex(_ ids: [Int]) -> Int {
        if config.poolsAtArgmax {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: config.eosTokenId) ?? 0
    }

    /// The pooled text representation [B, hidden].
    public func pooled(_ batch: [[Int]]) throws -> Tensor {
        let (hidden, sequences) = try encode(batch)
        let rows = zip(batch, sequences).map { ids, range in range.lowerBound + poolingIndex(ids) }
        return finalNorm(hidden.gatherRows(rows))  // row-wise, so normalising only the pooled rows is exact
    }
}
