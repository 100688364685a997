import GlimpseCore

/// BERT's LM head (`cls.predictions`): a transform (dense → activation → LN) then the output
/// projection onto the vocabulary, whose weight is tied to the word embeddings when the
/// checkpoint does not store its own.
struct BLIPLMHead: Sendable {
    let dense: Linear
    let norm: LayerNorm
    let activation: Activation
    let decoder: Linear

    init(_ store: WeightStore, _ prefix: String, config: BERTConfig, tiedEmbeddings: Tensor) throws {
        let d = config.tower.hiddenSize, v = config.vocabularySize
        dense = try Linear(store, "\(prefix).transform.dense", in: d, out: d)
        norm = try LayerNorm(store, "\(prefix).transform.LayerNorm", dim: d, eps: config.tower.layerNormEps)
        activation = config.tower.activation
        let weight = try store.optionalTensor("\(prefix).decoder.weight", shape: [v, d]) ?? tiedEmbeddings
        guard let bias = try store.optionalTensor("\(prefix).bias", shape: [v])
            ?? store.optionalTensor("\(prefix).decoder.bias", shape: [v]) else {
            throw GlimpseError.missingTensor("\(prefix).bias")
        }
        decoder = Linear(weight: weight, bias: bias, precision: store.precision)
    }

    func callAsFunction(_ hidden: Tensor) -> Tensor {
        let x = dense(hidden)
        activateInPlace(x, activation)
        return decoder(norm(x))
    }
}

/// BLIP's image-grounded text decoder (`text_decoder`, BlipTextLMHeadModel): a causal BERT
/// with cross-attention to the image tokens in every layer, and an LM head.
public struct BLIPTextDecoder: Sendable {
    public let config: BLIPTextConfig
    public let bert: BERTEncoder
    let head: BLIPLMHead

    public init(_ store: WeightStore, prefix: String, config: BLIPTextConfig) throws {
        self.config = config
        bert = try BERTEncoder(store, prefix: "\(prefix).bert", config: config.bert)
        head = try BLIPLMHead(store, "\(prefix).cls.predictions", config: config.bert, tiedEmbeddings: bert.wordEmbeddings)
    }

    /// Next-token logits [Σ lengths, vocab] for every position of packed texts, text i
    /// looking at image `imageOf[i]` (teacher forcing, as the reference's forward).
    public func logits(_ batch: [[Int]], cross: CrossAttentionMemory, imageOf: [Int]? = nil) throws -> Tensor {
        head(try bert(batch, causal: true, cross: cross, imageOf: imageOf).states)
    }

    /// Appends `batch[s]` to slot s of `cache` and returns the logits [slots, vocab] of each
    /// slot's last new token: one step of incremental decoding.
    public func step(_ batch: [[Int]], cache: BERTCache, cross: CrossAttentionMemory) throws -> Tensor {
        let states = try bert.decode(batch, cache: cache, cross: cross)
        let step = batch.first?.count ?? 0
        if step == 1 { return head(states) }
        // Only the last position's logits are needed: skip the vocabulary GEMM for the rest.
        return head(states.gatherRows((0 ..< batch.count).map { ($0 + 1) * step - 1 }))
    }

    /// A cache for `imageOf.count` sequences of at most `capacity` tokens.
    public func makeCache(imageOf: [Int], capacity: Int) -> BERTCache {
        BERTCache(layers: config.bert.tower.layers, hidden: config.bert.tower.hiddenSize, imageOf: imageOf, capacity: capacity)
    }
}

/// The decoder bound to a batch of encoded images, as the search algorithms drive it.
public struct BLIPCaptionDecoder: TokenDecoder {
    public let decoder: BLIPTextDecoder
    public let memory: CrossAttentionMemory

    public var vocabularySize: Int { decoder.config.bert.vocabularySize }
    public var maxPositions: Int { decoder.config.bert.maxPositions }

    public func makeCache(inputOf: [Int], capacity: Int) -> BERTCache {
        decoder.makeCache(imageOf: inputOf, capacity: capacity)
    }

    public func step(_ tokens: [[Int]], cache: BERTCache) throws -> Tensor {
        try decoder.step(tokens, cache: cache, cross: memory)
    }
}
