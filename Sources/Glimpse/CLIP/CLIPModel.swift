import Foundation
import GlimpseCore

/// The image half of a CLIP model: pixel values [B, C, S, S] → projected image features
/// [B, embedding]. A vision transformer plus a projection, or the CLIP paper's modified ResNet,
/// whose attention pool projects by itself.
public protocol CLIPImageEncoder: Sendable {
    var imageSize: Int { get }
    var channels: Int { get }
    func features(_ pixels: Tensor) throws -> Tensor
}

/// A ViT image tower and the linear projection into the shared embedding space.
public struct ProjectedVisionTransformer: CLIPImageEncoder {
    public let transformer: VisionTransformer
    let projection: Linear

    public var imageSize: Int { transformer.config.imageSize }
    public var channels: Int { transformer.config.channels }
    public func features(_ pixels: Tensor) throws -> Tensor { projection(try transformer.pooled(pixels)) }
}

/// CLIP (Radford et al. 2021): an image tower and a text tower projected into one embedding
/// space and compared by cosine similarity times a learned temperature (`logit_scale`).
///
/// This is the network alone, on pixel values and token ids, like transformers'
/// `CLIPModel`: `imageFeatures`/`textFeatures` equal `get_image_features`/`get_text_features`
/// (and open_clip's `encode_image`/`encode_text`). `CLIP` adds files, preprocessing and
/// tokenisation on top.
public final class CLIPModel: Sendable {
    public let image: any CLIPImageEncoder
    public let text: CLIPTextTransformer
    let textProjection: Linear
    /// exp(logit_scale): the factor from cosine similarity to logits.
    public let logitScale: Float
    /// The learned log-temperature itself (`logit_scale`, one element) as stored, for training.
    public let logitScaleParameter: Tensor?
    public let embeddingDim: Int

    /// The vision transformer, for ViT models.
    public var vision: VisionTransformer? { (image as? ProjectedVisionTransformer)?.transformer }

    init(image: any CLIPImageEncoder, text: CLIPTextTransformer, textProjection: Linear, logitScale: Float,
         logitScaleParameter: Tensor? = nil) {
        self.image = image
        self.text = text
        self.textProjection = textProjection
        self.logitScale = logitScale
        self.logitScaleParameter = logitScaleParameter
        embeddingDim = textProjection.outFeatures
    }

    /// A Hugging Face `CLIPModel` state dict.
    public convenience init(config: CLIPConfig, weights: WeightStore) throws {
        let vision = try VisionTransformer(weights, prefix: "vision_model", config: config.vision, names: .clip)
        let visualProjection = try Linear(weights, "visual_projection", in: config.vision.tower.hiddenSize,
                                          out: config.projectionDim, bias: false, exact: true)
        self.init(image: ProjectedVisionTransformer(transformer: vision, projection: visualProjection),
                  text: try CLIPTextTransformer(weights, prefix: "text_model", config: config.text),
                  textProjection: try Linear(weights, "text_projection", in: config.text.tower.hiddenSize,
                                             out: config.projectionDim, bias: false, exact: true),
                  logitScale: Foundation.exp(try weights.tensor("logit_scale", shape: []).item),
                  logitScaleParameter: try weights.tensor("logit_scale", shape: []))
    }

    /// Loads a model folder: Hugging Face (config.json and weights) or open_clip
    /// (open_clip_config.json and open_clip_model.safetensors / open_clip_pytorch_model.bin).
    public convenience init(checkpoint: Checkpoint) throws {
        if let openCLIP = try OpenCLIPConfig(checkpoint: checkpoint) {
            try self.init(openCLIP: openCLIP, weights: checkpoint.openCLIPWeights())
        } else {
            try self.init(config: CLIPConfig(reader: checkpoint.config()), weights: checkpoint.weights())
        }
    }

    /// The text tower's configuration of a model folder, without loading weights.
    public static func textConfig(checkpoint: Checkpoint) throws -> CLIPTextConfig {
        if let openCLIP = try OpenCLIPConfig(checkpoint: checkpoint) { return openCLIP.text }
        return try CLIPConfig(reader: checkpoint.config()).text
    }

    /// Images per forward pass: enough rows for efficient GEMMs, bounded activation memory.
    public static let imagesPerPass = 32
    /// Tokens per text forward pass (a 1,000-label list is a few passes, not one huge one).
    public static let tokensPerPass = 1024

    /// Projected image features [B, projection] from pixel values [B, C, H, W].
    public func imageFeatures(pixels: Tensor) throws -> Tensor {
        guard pixels.rank == 4, pixels.shape[0] > Self.imagesPerPass else { return try image.features(pixels) }
        let batch = pixels.shape[0]
        let passes = stride(from: 0, to: batch, by: Self.imagesPerPass).map { $0 ..< min($0 + Self.imagesPerPass, batch) }
        return Tensor.concatenatingRows(try passes.map { try image.features(pixels.rows($0)) }, rowShape: [embeddingDim])
    }

    /// Projected text features [B, projection] from token ids (start/end tokens included, unpadded).
    public func textFeatures(ids: [[Int]]) throws -> Tensor {
        var passes: [Range<Int>] = []
        var start = 0, tokens = 0
        for (i, text) in ids.enumerated() {
            if i > start && tokens + text.count > Self.tokensPerPass {
                passes.append(start ..< i)
                start = i
                tokens = 0
            }
            tokens += text.count
        }
        passes.append(start ..< ids.count)
        return Tensor.concatenatingRows(try passes.map { textProjection(try text.pooled(Array(ids[$0]))) }, rowShape: [embeddingDim])
    }

    /// logits_per_image [images, texts] = exp(logit_scale) · cos(image, text), for
    /// L2-normalised embeddings.
    public func logits(images: Tensor, texts: Tensor) -> Tensor {
        let logits = matmulTransposed(images, texts)
        scaleInPlace(logits, logitScale)
        return logits
    }
}
