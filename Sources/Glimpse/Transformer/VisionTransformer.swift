import GlimpseCore

/// How a checkpoint names the parts of a ViT image tower: the only thing that differs between
/// CLIP's, OWL-ViT's and BLIP's towers (open_clip's is renamed to CLIP's names when loaded).
public struct VisionTransformerNames: Sendable, Equatable {
    /// The LN before the blocks; nil when the tower has none (BLIP).
    public var preNorm: String?
    /// Whether the patch-embedding convolution has a bias (BLIP's has).
    public var patchBias: Bool
    /// The position table: an `nn.Embedding` (`….weight`) or a bare parameter (BLIP).
    public var positionEmbedding: String
    public var attention: AttentionNames

    public init(preNorm: String?, patchBias: Bool, positionEmbedding: String, attention: AttentionNames) {
        self.preNorm = preNorm
        self.patchBias = patchBias
        self.positionEmbedding = positionEmbedding
        self.attention = attention
    }

    /// transformers' CLIPVisionTransformer.
    public static let clip = VisionTransformerNames(preNorm: "pre_layrnorm", patchBias: false,
                                                    positionEmbedding: "embeddings.position_embedding.weight",
                                                    attention: .separate)
    /// OWL-ViT's: CLIP's, with the first LN spelt "pre_layernorm".
    public static let owlViT = VisionTransformerNames(preNorm: "pre_layernorm", patchBias: false,
                                                      positionEmbedding: "embeddings.position_embedding.weight",
                                                      attention: .separate)
    /// BLIP's vision model: no pre-LN, a conv bias, a bare position parameter, a fused `qkv`.
    public static let blip = VisionTransformerNames(preNorm: nil, patchBias: true,
                                                    positionEmbedding: "embeddings.position_embedding",
                                                    attention: .fused)
}

/// The one vision transformer (Dosovitskiy et al. 2021) behind CLIP's, OWL-ViT's and BLIP's
/// image towers: patches → linear embedding (the stride-p conv as one GEMM), a learned class
/// token and position embeddings, an optional pre-LN, pre-LN blocks, and a post-LN that each
/// model applies where it needs it — on the class token (CLIP's pooled image representation)
/// or on every token (BLIP's image embeds, OWL-ViT's patch features).
public struct VisionTransformer: Sendable {
    public let config: VisionConfig
    let patchEmbedding: Linear          // conv kernel seen as [hidden, C·p·p]
    let classEmbedding: Tensor          // [1, hidden]
    let positionEmbedding: Tensor       // [positions, hidden]
    let preNorm: LayerNorm?
    let encoder: PreNormEncoder
    let postNorm: LayerNorm

    public init(_ store: WeightStore, prefix: String, config: VisionConfig, names: VisionTransformerNames = .clip) throws {
        self.config = config
        let d = config.tower.hiddenSize, p = config.patchSize, eps = config.tower.layerNormEps
        let kernel = try store.tensor("\(prefix).embeddings.patch_embedding.weight", shape: [d, config.channels, p, p])
        patchEmbedding = Linear(weight: kernel.reshaped([d, config.channels * p * p]),
                                bias: names.patchBias ? try store.tensor("\(prefix).embeddings.patch_embedding.bias", shape: [d]) : nil,
                                precision: store.precision)
        classEmbedding = try store.tensor("\(prefix).embeddings.class_embedding", shape: [d]).reshaped([1, d])
        positionEmbedding = try store.tensor("\(prefix).\(names.positionEmbedding)", shape: [config.positions, d])
        preNorm = try names.preNorm.map { try LayerNorm(store, "\(prefix).\($0)", dim: d, eps: eps) }
        encoder = try PreNormEncoder(store, "\(prefix).encoder", config.tower, names: names.attention)
        postNorm = try LayerNorm(store, "\(prefix).post_layernorm", dim: d, eps: eps)
    }

    /// Embeddings (class token, patches, plus positions) [B·positions, hidden], before the blocks.
    public func embeddings(_ pixels: Tensor) throws -> Tensor {
        let size = config.imageSize
        guard pixels.rank == 4, pixels.shape[1] == config.channels, pixels.shape[2] == size, pixels.shape[3] == size else {
            throw GlimpseError.invalidArgument("pixel values have shape \(pixels.shape); this model takes [batch, \(config.channels), \(size), \(size)]")
        }
        let batch = pixels.shape[0]
        let patches = patchEmbedding(extractPatches(pixels, patch: config.patchSize))
        return classTokenSequences(patches: patches, classToken: classEmbedding, positions: positionEmbedding, batch: batch)
    }

    /// Every token's state after the blocks, before the post-LN, [B·positions, hidden]
    /// (CLIP's `last_hidden_state`).
    public func hiddenStates(_ pixels: Tensor) throws -> Tensor {
        let tokens = try embeddings(pixels)
        let n = config.positions
        let sequences = (0 ..< pixels.shape[0]).map { $0 * n ..< ($0 + 1) * n }
        return encoder(preNorm.map { $0(tokens) } ?? tokens, sequences: sequences, causal: false)
    }

    /// Every token after the blocks and the post-LN, [B·positions, hidden] (BLIP's
    /// `last_hidden_state`, the start of OWL-ViT's image embedder).
    public func callAsFunction(_ pixels: Tensor) throws -> Tensor {
        postNorm(try hiddenStates(pixels))
    }

    /// The pooled image representation [B, hidden]: the class token after the post-LN.
    public func pooled(_ pixels: Tensor) throws -> Tensor {
        let hidden = try hiddenStates(pixels)
        let n = config.positions
        return postNorm(hidden.gatherRows((0 ..< pixels.shape[0]).map { $0 * n }))
    }
}

/// CLIP's image tower (Radford et al. 2021, §2.4), also OWL-ViT's.
public typealias CLIPVisionTransformer = VisionTransformer
/// BLIP's image encoder (Li et al. 2022); its token states are what the text side attends to.
public typealias BLIPVisionTransformer = VisionTransformer
