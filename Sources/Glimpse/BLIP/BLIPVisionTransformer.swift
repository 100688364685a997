import GlimpseCore

/// One pre-LN ViT block of BLIP's image tower: x + proj(attn(LN(x))) with a fused `qkv`
/// projection, then x + fc2(act(fc1(LN(x)))).
struct BLIPVisionLayer: Sendable {
    let norm1, norm2: LayerNorm
    let query, key, value, projection: Linear
    let fc1, fc2: Linear
    let heads: Int
    let activation: Activation

    init(_ store: WeightStore, _ prefix: String, _ config: BLIPVisionConfig) throws {
        let d = config.hiddenSize
        norm1 = try LayerNorm(store, "\(prefix).layer_norm1", dim: d, eps: config.layerNormEps)
        norm2 = try LayerNorm(store, "\(prefix).layer_norm2", dim: d, eps: config.layerNormEps)
        // The fused weight [3d, d] is q, k, v stacked by rows: split as views, no copy.
        let qkv = try Linear(store, "\(prefix).self_attn.qkv", in: d, out: 3 * d)
        let parts = (0 ..< 3).map { i in
            Linear(weight: qkv.weight.rows(i * d ..< (i + 1) * d), bias: qkv.bias?.rows(i * d ..< (i + 1) * d))
        }
        (query, key, value) = (parts[0], parts[1], parts[2])
        projection = try Linear(store, "\(prefix).self_attn.projection", in: d, out: d)
        fc1 = try Linear(store, "\(prefix).mlp.fc1", in: d, out: config.intermediateSize)
        fc2 = try Linear(store, "\(prefix).mlp.fc2", in: config.intermediateSize, out: d)
        heads = config.heads
        activation = config.activation
    }

    func callAsFunction(_ x: Tensor, sequences: [Range<Int>]) -> Tensor {
        let normed = norm1(x)
        let context = attention(query: query(normed), key: key(normed), value: value(normed), heads: heads,
                                querySequences: sequences, causal: false)
        let attended = projection(context)
        addInPlace(attended, x)
        let hidden = fc1(norm2(attended))
        activateInPlace(hidden, activation)
        let out = fc2(hidden)
        addInPlace(out, attended)
        return out
    }
}

/// BLIP's image encoder (Li et al. 2022): a ViT whose patch embedding is a conv with bias,
/// a class token and learned positions, pre-LN blocks, and a final `post_layernorm` over
/// every token. All tokens are the "image embeds" the text side cross-attends to; the class
/// token is the image feature for ITC.
public struct BLIPVisionTransformer: Sendable {
    public let config: BLIPVisionConfig
    let patchEmbedding: Linear          // conv kernel seen as [hidden, C·p·p]
    let classEmbedding: Tensor          // [hidden]
    let positionEmbedding: Tensor       // [positions, hidden]
    let layers: [BLIPVisionLayer]
    let postNorm: LayerNorm

    public init(_ store: WeightStore, prefix: String, config: BLIPVisionConfig) throws {
        self.config = config
        let d = config.hiddenSize, p = config.patchSize
        let kernel = try store.tensor("\(prefix).embeddings.patch_embedding.weight", shape: [d, config.channels, p, p])
        patchEmbedding = Linear(weight: kernel.reshaped([d, config.channels * p * p]),
                                bias: try store.tensor("\(prefix).embeddings.patch_embedding.bias", shape: [d]))
        classEmbedding = try store.tensor("\(prefix).embeddings.class_embedding", shape: [1, 1, d]).reshaped([d])
        positionEmbedding = try store.tensor("\(prefix).embeddings.position_embedding", shape: [1, config.positions, d])
            .reshaped([config.positions, d])
        layers = try (0 ..< config.layers).map { try BLIPVisionLayer(store, "\(prefix).encoder.layers.\($0)", config) }
        postNorm = try LayerNorm(store, "\(prefix).post_layernorm", dim: d, eps: config.layerNormEps)
    }

    /// Embeddings (class token + patches + positions) [B·positions, hidden], before the blocks.
    public func embeddings(_ pixels: Tensor) throws -> Tensor {
        let size = config.imageSize
        guard pixels.rank == 4, pixels.shape[1] == config.channels, pixels.shape[2] == size, pixels.shape[3] == size else {
            throw GlimpseError.invalidArgument("pixel values have shape \(pixels.shape); this model takes [batch, \(config.channels), \(size), \(size)]")
        }
        let batch = pixels.shape[0], d = config.hiddenSize, n = config.positions
        let patches = patchEmbedding(extractPatches(pixels, patch: config.patchSize))
        let tokens = Tensor(zeros: [batch * n, d])
        for b in 0 ..< batch {
            let image = tokens.data + b * n * d
            image.update(from: classEmbedding.data, count: d)
            (image + d).update(from: patches.data + b * (n - 1) * d, count: (n - 1) * d)
            addInPlace(tokens.rows(b * n ..< (b + 1) * n), positionEmbedding)
        }
        return tokens
    }

    /// `last_hidden_state`: every token after the blocks and the post-LN, [B·positions, hidden].
    public func callAsFunction(_ pixels: Tensor) throws -> Tensor {
        let n = config.positions
        let sequences = (0 ..< pixels.shape[0]).map { $0 * n ..< ($0 + 1) * n }
        let hidden = layers.reduce(try embeddings(pixels)) { x, layer in layer(x, sequences: sequences) }
        return postNorm(hidden)
    }
}
