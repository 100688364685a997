import GlimpseCore

/// Keys and values an attention layer reads, and which of their rows each query sequence
/// sees: the sequence's own tokens (self-attention), its cached past plus new tokens
/// (incremental decoding), or its image's tokens (cross-attention).
public struct AttentionMemory: Sendable {
    public let keys: Tensor
    public let values: Tensor
    public let sequences: [Range<Int>]

    public init(keys: Tensor, values: Tensor, sequences: [Range<Int>]) {
        self.keys = keys
        self.values = values
        self.sequences = sequences
    }
}

/// BERT's attention block (`attention` / `crossattention` in HF names): query/key/value
/// projections, multi-head attention, then the post-LN residual `LN(x + dense(context))`.
/// Keys and values may come from another width (cross-attention to image tokens).
struct BERTAttention: Sendable {
    let query, key, value, output: Linear
    let norm: LayerNorm
    let heads: Int

    init(_ store: WeightStore, _ prefix: String, _ config: BERTConfig, memoryWidth: Int) throws {
        let d = config.tower.hiddenSize
        query = try Linear(store, "\(prefix).self.query", in: d, out: d)
        key = try Linear(store, "\(prefix).self.key", in: memoryWidth, out: d)
        value = try Linear(store, "\(prefix).self.value", in: memoryWidth, out: d)
        output = try Linear(store, "\(prefix).output.dense", in: d, out: d)
        norm = try LayerNorm(store, "\(prefix).output.LayerNorm", dim: d, eps: config.tower.layerNormEps)
        heads = config.tower.heads
    }

    /// Keys and values of `states` (computed once per image for cross-attention).
    func keysValues(_ states: Tensor) -> (keys: Tensor, values: Tensor) {
        (key(states), value(states))
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], memory: AttentionMemory, causal: Bool) -> Tensor {
        let context = attention(query: query(x), key: memory.keys, value: memory.values, heads: heads,
                                querySequences: sequences, keySequences: memory.sequences, causal: causal)
        let y = output(context)
        addInPlace(y, x)
        return norm(y)
    }
}

/// One BERT layer: self-attention, optional cross-attention (BLIP's text encoder and
/// decoder attend to image tokens in every layer), then the feed-forward block
/// `LN(x + output(act(intermediate(x))))`.
struct BERTLayer: Sendable {
    let selfAttention: BERTAttention
    let crossAttention: BERTAttention?
    let intermediate, output: Linear
    let norm: LayerNorm
    let activation: Activation

    init(_ store: WeightStore, _ prefix: String, _ config: BERTConfig) throws {
        let d = config.tower.hiddenSize
        selfAttention = try BERTAttention(store, "\(prefix).attention", config, memoryWidth: d)
        crossAttention = try config.crossAttentionWidth.map {
            try BERTAttention(store, "\(prefix).crossattention", config, memoryWidth: $0)
        }
        intermediate = try Linear(store, "\(prefix).intermediate.dense", in: d, out: config.tower.intermediateSize)
        output = try Linear(store, "\(prefix).output.dense", in: config.tower.intermediateSize, out: d)
        norm = try LayerNorm(store, "\(prefix).output.LayerNorm", dim: d, eps: config.tower.layerNormEps)
        activation = config.tower.activation
    }

    /// `cross` nil skips cross-attention (BLIP's text-only "text" mode for ITC).
    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], selfMemory: AttentionMemory, causal: Bool,
                        cross: AttentionMemory?) -> Tensor {
        var hidden = selfAttention(x, sequences: sequences, memory: selfMemory, causal: causal)
        if let cross, let crossAttention {
            hidden = crossAttention(hidden, sequences: sequences, memory: cross, causal: false)
        }
        let inner = intermediate(hidden)
        activateInPlace(inner, activation)
        let y = output(inner)
        addInPlace(y, hidden)
        return norm(y)
    }
}
