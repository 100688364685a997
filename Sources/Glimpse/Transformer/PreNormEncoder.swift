import GlimpseCore

/// How a checkpoint names a block's self-attention projections: the only difference between
/// the pre-LN blocks of CLIP's and OWL-ViT's towers (separate q/k/v) and BLIP's image tower
/// (one fused `qkv`, split into row views once at load).
public enum AttentionNames: Sendable, Equatable {
    /// `q_proj`, `k_proj`, `v_proj`, `out_proj` (transformers' CLIP).
    case separate
    /// `qkv` [3·d, d] with q, k, v stacked by rows, and `projection` (transformers' BLIP).
    case fused
}

/// Multi-head self-attention: q/k/v projections with biases, an output projection,
/// scale 1/√head_dim.
struct SelfAttention: Sendable {
    let q, k, v, out: Linear
    let heads: Int

    init(_ store: WeightStore, _ prefix: String, _ config: TransformerShape, names: AttentionNames) throws {
        let d = config.hiddenSize
        switch names {
        case .separate:
            q = try Linear(store, "\(prefix).q_proj", in: d, out: d)
            k = try Linear(store, "\(prefix).k_proj", in: d, out: d)
            v = try Linear(store, "\(prefix).v_proj", in: d, out: d)
            out = try Linear(store, "\(prefix).out_proj", in: d, out: d)
        case .fused:
            let weight = try store.tensor("\(prefix).qkv.weight", shape: [3 * d, d])
            let bias = try store.tensor("\(prefix).qkv.bias", shape: [3 * d])
            let parts = (0 ..< 3).map { i in
                Linear(weight: weight.rows(i * d ..< (i + 1) * d), bias: bias.rows(i * d ..< (i + 1) * d),
                       precision: store.precision)
            }
            (q, k, v) = (parts[0], parts[1], parts[2])
            out = try Linear(store, "\(prefix).projection", in: d, out: d)
        }
        heads = config.heads
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], causal: Bool) -> Tensor {
        let context = attention(query: q(x), key: k(x), value: v(x), heads: heads,
                                querySequences: sequences, causal: causal)
        return out(context)
    }
}

/// fc1 → activation → fc2.
struct FeedForward: Sendable {
    let fc1, fc2: Linear
    let activation: Activation

    init(_ store: WeightStore, _ prefix: String, _ config: TransformerShape) throws {
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
struct PreNormEncoderLayer: Sendable {
    let norm1, norm2: LayerNorm
    let attention: SelfAttention
    let mlp: FeedForward

    init(_ store: WeightStore, _ prefix: String, _ config: TransformerShape, names: AttentionNames) throws {
        norm1 = try LayerNorm(store, "\(prefix).layer_norm1", dim: config.hiddenSize, eps: config.layerNormEps)
        norm2 = try LayerNorm(store, "\(prefix).layer_norm2", dim: config.hiddenSize, eps: config.layerNormEps)
        attention = try SelfAttention(store, "\(prefix).self_attn", config, names: names)
        mlp = try FeedForward(store, "\(prefix).mlp", config)
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], causal: Bool) -> Tensor {
        let attended = attention(norm1(x), sequences: sequences, causal: causal)
        addInPlace(attended, x)
        let out = mlp(norm2(attended))
        addInPlace(out, attended)
        return out
    }
}

/// The stack of pre-LN blocks shared by CLIP's text tower and every vision tower (CLIP,
/// OWL-ViT, BLIP). Activations are packed: `x` is [total tokens, hidden], `sequences` says
/// which rows belong together.
struct PreNormEncoder: Sendable {
    let layers: [PreNormEncoderLayer]

    init(_ store: WeightStore, _ prefix: String, _ config: TransformerShape, names: AttentionNames = .separate) throws {
        layers = try (0..<config.layers).map { try PreNormEncoderLayer(store, "\(prefix).layers.\($0)", config, names: names) }
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>], causal: Bool) -> Tensor {
        layers.reduce(x) { hidden, layer in layer(hidden, sequences: sequences, causal: causal) }
    }
}
