import GlimpseCore

/// CLIP's multi-head self-attention: separate q/k/v projections with biases, an output
/// projection, scale 1/√head_dim.
struct CLIPAttention: Sendable {
    let q, k, v, out: Linear
    let heads: Int

    init(_ store: WeightStore, _ prefix: String, _ config: CLIPTowerConfig) throws {
        let d = config.hiddenSize
        q = try Linear(store, "\(prefix).q_proj", in: d, out: d)
        k = try Linear(store, "\(prefix).k_proj", in: d, out: d)
        v = try Linear(store, "\(prefix).v_proj", in: d, out: d)
        out = try Linear(store, "\(prefix).out_proj", in: d, out: d)
        heads = config.heads
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], causal: Bool) -> Tensor {
        let context = attention(query: q(x), key: k(x), value: v(x), heads: heads,
                                querySequences: sequences, causal: causal)
        return out(context)
    }
}

/// fc1 → activation → fc2.
struct CLIPMLP: Sendable {
    let fc1, fc2: Linear
    let activation: Activation

    init(_ store: WeightStore, _ prefix: String, _ config: CLIPTowerConfig) throws {
        fc1 = try Linear(store, "\(prefix).fc1", in: config.hiddenSize, out: config.intermediateSize)
        fc2 = try Linear(store, "\(prefix).fc2", in: config.intermediateSize, out: config.hiddenSize)
        activation = config.activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden = fc1(x)
        activateInPlace(hidden, activation)
        return fc2(hidden)
    }
}

/// A pre-LN transformer block: x + attn(LN(x)), then x + mlp(LN(x)).
struct CLIPEncoderLayer: Sendable {
    let norm1, norm2: LayerNorm
    let attention: CLIPAttention
    let mlp: CLIPMLP

    init(_ store: WeightStore, _ prefix: String, _ config: CLIPTowerConfig) throws {
        norm1 = try LayerNorm(store, "\(prefix).layer_norm1", dim: config.hiddenSize, eps: config.layerNormEps)
        norm2 = try LayerNorm(store, "\(prefix).layer_norm2", dim: config.hiddenSize, eps: config.layerNormEps)
        attention = try CLIPAttention(store, "\(prefix).self_attn", config)
        mlp = try CLIPMLP(store, "\(prefix).mlp", config)
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], causal: Bool) -> Tensor {
        let attended = attention(norm1(x), sequences: sequences, causal: causal)
        addInPlace(attended, x)
        let out = mlp(norm2(attended))
        addInPlace(out, attended)
        return out
    }
}

/// The stack of encoder layers shared by the text and vision towers (and by OWL-ViT).
/// Activations are packed: `x` is [total tokens, hidden], `sequences` says which rows
/// belong together.
struct CLIPEncoder: Sendable {
    let layers: [CLIPEncoderLayer]

    init(_ store: WeightStore, _ prefix: String, _ config: CLIPTowerConfig) throws {
        layers = try (0..<config.layers).map { try CLIPEncoderLayer(store, "\(prefix).layers.\($0)", config) }
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], causal: Bool) -> Tensor {
        layers.reduce(x) { hidden, layer in layer(hidden, sequences: sequences, causal: causal) }
    }
}
