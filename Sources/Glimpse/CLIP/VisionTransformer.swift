import GlimpseCore

/// CLIP's image tower (Radford et al. 2021, §2.4): patches → linear embedding, a learned
/// class token and position embeddings, a pre-LN ("pre_layrnorm") before the encoder, and
/// the class token after a final LN as the image representation.
public struct CLIPVisionTransformer: Sendable {
    public let config: CLIPVisionConfig
    let patchEmbedding: Tensor          // [hidden, C·p·p]
    let classEmbedding: Tensor          // [hidden]
    let positionEmbedding: Tensor       // [positions, hidden]
    let preNorm, postNorm: LayerNorm
    let encoder: CLIPEncoder

    /// `preNormName`: CLIP's checkpoints spell the first LN "pre_layrnorm", OWL-ViT's "pre_layernorm".
    public init(_ store: WeightStore, prefix: String, config: CLIPVisionConfig, preNormName: String = "pre_layrnorm") throws {
        self.config = config
        let d = config.tower.hiddenSize, p = config.patchSize
        let eps = config.tower.layerNormEps
        patchEmbedding = try store.tensor("\(prefix).embeddings.patch_embedding.weight", shape: [d, config.channels, p, p])
            .reshaped([d, config.channels * p * p])
        classEmbedding = try store.tensor("\(prefix).embeddings.class_embedding", shape: [d])
        positionEmbedding = try store.tensor("\(prefix).embeddings.position_embedding.weight", shape: [config.positions, d])
        preNorm = try LayerNorm(store, "\(prefix).\(preNormName)", dim: d, eps: eps)
        postNorm = try LayerNorm(store, "\(prefix).post_layernorm", dim: d, eps: eps)
        encoder = try CLIPEncoder(store, "\(prefix).encoder", config.tower)
    }

    /// Every token's final hidden state, [B·positions, hidden] (before the post-LN).
    public func hiddenStates(_ pixels: Tensor) throws -> Tensor {
        let size = config.imageSize
        guard pixels.rank == 4, pixels.shape[1] == config.channels, pixels.shape[2] == size, pixels.shape[3] == size else {
            throw GlimpseError.invalidArgument("pixel values have shape \(pixels.shape); this model takes [batch, \(config.channels), \(size), \(size)]")
        }
        let batch = pixels.shape[0], d = config.tower.hiddenSize, n = config.positions
        let patches = linear(extractPatches(pixels, patch: config.patchSize), weight: patchEmbedding, bias: nil)
        let tokens = Tensor(zeros: [batch * n, d])
        for b in 0..<batch {
            let image = tokens.data + b * n * d
            image.update(from: classEmbedding.data, count: d)
            (image + d).update(from: patches.data + b * (n - 1) * d, count: (n - 1) * d)
            addInPlace(tokens.rows(b * n ..< (b + 1) * n), positionEmbedding)
        }
        let sequences = (0..<batch).map { $0 * n ..< ($0 + 1) * n }
        return encoder(preNorm(tokens), sequences: sequences, causal: false)
    }

    /// The pooled image representation [B, hidden]: the class token after the post-LN.
    public func pooled(_ pixels: Tensor) throws -> Tensor {
        let hidden = try hiddenStates(pixels)
        let batch = pixels.shape[0], d = config.tower.hiddenSize, n = config.positions
        let cls = Tensor(zeros: [batch, d])
        for b in 0..<batch { (cls.data + b * d).update(from: hidden.data + b * n * d, count: d) }
        return postNorm(cls)
    }
}
