import GlimpseCore

/// Keys/values of image tokens for every cross-attention layer, computed once per batch of
/// images and shared by every text (and every beam) that looks at the same image.
public struct CrossAttentionMemory: Sendable {
    /// Per layer: keys and values [images · tokens, hidden].
    let layers: [(keys: Tensor, values: Tensor)]
    public let imageTokens: Int
    public let images: Int

    /// Memory for layer `l` as seen by query sequences whose images are `imageOf`.
    func memory(layer l: Int, imageOf: [Int]) -> AttentionMemory {
        let n = imageTokens
        return AttentionMemory(keys: layers[l].keys, values: layers[l].values,
                               sequences: imageOf.map { $0 * n ..< ($0 + 1) * n })
    }
}

/// A BERT text transformer (Devlin et al. 2019): word + absolute position (+ token type 0)
/// embeddings → LN, then post-LN layers. The same stack is MiniLM's sentence encoder,
/// BLIP's image-grounded text encoder (bidirectional, cross-attention) and BLIP's text
/// decoder (causal, cross-attention, key/value cache).
///
/// Texts are packed back to back, never padded: each is a range of rows, and attention
/// only looks within a range, which is what the reference's padding mask achieves.
public struct BERTEncoder: Sendable {
    public let config: BERTConfig
    let wordEmbeddings: Tensor          // [vocab, hidden]
    let positionEmbeddings: Tensor      // [positions, hidden]
    let tokenType0: Tensor?             // [hidden], the type-0 row (single-segment inputs)
    let embeddingNorm: LayerNorm
    let layers: [BERTLayer]

    /// `prefix` is where `embeddings.*` and `encoder.layer.*` live ("" for a bare BertModel,
    /// "text_encoder" / "text_decoder.bert" in BLIP).
    public init(_ store: WeightStore, prefix: String, config: BERTConfig) throws {
        self.config = config
        let p = prefix.isEmpty ? "" : prefix + "."
        let d = config.tower.hiddenSize
        wordEmbeddings = try store.tensor("\(p)embeddings.word_embeddings.weight", shape: [config.vocabularySize, d])
        positionEmbeddings = try store.tensor("\(p)embeddings.position_embeddings.weight", shape: [config.maxPositions, d])
        if config.typeVocabularySize > 0 {
            let types = try store.tensor("\(p)embeddings.token_type_embeddings.weight", shape: [config.typeVocabularySize, d])
            tokenType0 = types.rows(0 ..< 1).reshaped([d])
        } else {
            tokenType0 = nil
        }
        embeddingNorm = try LayerNorm(store, "\(p)embeddings.LayerNorm", dim: d, eps: config.tower.layerNormEps)
        layers = try (0 ..< config.tower.layers).map { try BERTLayer(store, "\(p)encoder.layer.\($0)", config) }
    }

    /// Embedding output for packed texts whose first token sits at position `offset`
    /// (the cached length when decoding incrementally).
    func embed(_ batch: [[Int]], sequences: [Range<Int>], offset: Int) -> Tensor {
        var x = embeddingLookup(wordEmbeddings, ids: batch.flatMap { $0 })
        // The table from `offset` on is a view of the parameter, so training differentiates it.
        addPositionEmbeddingsInPlace(x, positionEmbeddings.rows(offset ..< config.maxPositions), sequences: sequences)
        if let tokenType0 { x = addingBias(x, tokenType0) }
        return embeddingNorm(x)
    }

    /// Cross-attention keys/values of image states [images · tokens, width] for every layer.
    public func crossAttentionMemory(imageStates: Tensor, images: Int) throws -> CrossAttentionMemory {
        guard let width = config.crossAttentionWidth, layers.allSatisfy({ $0.crossAttention != nil }) else {
            throw GlimpseError.invalidArgument("this text model has no cross-attention layers")
        }
        guard images > 0, imageStates.rank == 2, imageStates.shape[1] == width, imageStates.shape[0] % images == 0 else {
            throw GlimpseError.invalidArgument("image states of shape \(imageStates.shape) do not hold \(images) images of width \(width)")
        }
        let kv = layers.map { $0.crossAttention!.keysValues(imageStates) }
        return CrossAttentionMemory(layers: kv, imageTokens: imageStates.shape[0] / images, images: images)
    }

    /// Last hidden states [Σ lengths, hidden] of packed texts. With `cross`, text i attends to
    /// image `imageOf[i]`; with `causal`, each token sees only earlier ones.
    public func callAsFunction(_ batch: [[Int]], causal: Bool = false, cross: CrossAttentionMemory? = nil,
                               imageOf: [Int]? = nil) throws -> (states: Tensor, sequences: [Range<Int>]) {
        let sequences = try packedSequences(batch, vocabularySize: config.vocabularySize, maxPositions: config.maxPositions)
        let images = try imageIndices(imageOf, count: batch.count, cross: cross)
        var x = embed(batch, sequences: sequences, offset: 0)
        for (l, layer) in layers.enumerated() {
            let kv = layer.selfAttention.keysValues(x)
            let own = AttentionMemory(keys: kv.keys, values: kv.values, sequences: sequences)
            x = layer(x, sequences: sequences, selfMemory: own, causal: causal,
                      cross: cross.map { $0.memory(layer: l, imageOf: images) })
        }
        return (x, sequences)
    }

    /// One decoding step for every slot of `cache`: `batch[s]` holds the new tokens of slot s
    /// (all slots the same count), appended after the cached ones. Returns the hidden states
    /// of the new tokens, packed.
    public func decode(_ batch: [[Int]], cache: BERTCache, cross: CrossAttentionMemory?) throws -> Tensor {
        guard batch.count == cache.slots else {
            throw GlimpseError.invalidArgument("\(batch.count) inputs for a cache of \(cache.slots) sequences")
        }
        let step = batch.first?.count ?? 0
        guard batch.allSatisfy({ $0.count == step }), cache.length + step <= cache.capacity else {
            throw GlimpseError.invalidArgument("decoding step of \(step) tokens does not fit the cache (\(cache.length) of \(cache.capacity) used)")
        }
        let sequences = try packedSequences(batch, vocabularySize: config.vocabularySize, maxPositions: config.maxPositions,
                                            offset: cache.length)
        let images = try imageIndices(cache.imageOf, count: batch.count, cross: cross)
        var x = embed(batch, sequences: sequences, offset: cache.length)
        for (l, layer) in layers.enumerated() {
            let kv = layer.selfAttention.keysValues(x)
            cache.write(layer: l, keys: kv.keys, values: kv.values, step: step)
            x = layer(x, sequences: sequences, selfMemory: cache.memory(layer: l, step: step), causal: true,
                      cross: cross.map { $0.memory(layer: l, imageOf: images) })
        }
        cache.advance(step)
        return x
    }

    private func imageIndices(_ imageOf: [Int]?, count: Int, cross: CrossAttentionMemory?) throws -> [Int] {
        guard let cross else { return [] }
        let images = imageOf ?? Array(0 ..< count)
        guard images.count == count, images.allSatisfy({ (0 ..< cross.images).contains($0) }) else {
            throw GlimpseError.invalidArgument("texts refer to images outside the \(cross.images) encoded")
        }
        return images
    }
}
