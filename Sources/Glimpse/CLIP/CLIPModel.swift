import Foundation
import GlimpseCore

/// CLIP (Radford et al. 2021): an image tower and a text tower projected into one embedding
/// space and compared by cosine similarity times a learned temperature (`logit_scale`).
///
/// This is the network alone, on pixel values and token ids, like transformers'
/// `CLIPModel`: `imageFeatures`/`textFeatures` equal `get_image_features`/`get_text_features`.
/// `CLIP` adds files, preprocessing and tokenisation on top.
public final class CLIPModel: Sendable {
    public let config: CLIPConfig
    public let vision: CLIPVisionTransformer
    public let text: CLIPTextTransformer
    let visualProjection: Linear
    let textProjection: Linear
    /// exp(logit_scale): the factor from cosine similarity to logits.
    public let logitScale: Float

    public init(config: CLIPConfig, weights: WeightStore) throws {
        self.config = config
        vision = try CLIPVisionTransformer(weights, prefix: "vision_model", config: config.vision)
        text = try CLIPTextTransformer(weights, prefix: "text_model", config: config.text)
        visualProjection = try Linear(weights, "visual_projection", in: config.vision.tower.hiddenSize,
                                      out: config.projectionDim, bias: false)
        textProjection = try Linear(weights, "text_projection", in: config.text.tower.hiddenSize,
                                    out: config.projectionDim, bias: false)
        logitScale = Foundation.exp(try weights.tensor("logit_scale", shape: []).item)
    }

    /// Loads config.json and the weights of a Hugging Face CLIP folder.
    public convenience init(checkpoint: Checkpoint) throws {
        try self.init(config: CLIPConfig(reader: checkpoint.config()), weights: checkpoint.weights())
    }

    public var embeddingDim: Int { config.projectionDim }

    /// Projected image features [B, projection] from pixel values [B, C, H, W].
    public func imageFeatures(pixels: Tensor) throws -> Tensor {
        visualProjection(try vision.pooled(pixels))
    }

    /// Projected text features [B, projection] from token ids (start/end tokens included, unpadded).
    public func textFeatures(ids: [[Int]]) throws -> Tensor {
        textProjection(try text.pooled(ids))
    }

    /// logits_per_image [images, texts] = exp(logit_scale) · cos(image, text), for
    /// L2-normalised embeddings.
    public func logits(images: Tensor, texts: Tensor) -> Tensor {
        let logits = matmulTransposed(images, texts)
        scaleInPlace(logits, logitScale)
        return logits
    }
}
