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

    /// Images per forward pass: enough rows for efficient GEMMs, bounded activation memory.
    public static let imagesPerPass = 32
    /// Tokens per text forward pass (a 1,000-label list is a few passes, not one huge one).
    public static let tokensPerPass = 4096

    /// Projected image features [B, projection] from pixel values [B, C, H, W].
    public func imageFeatures(pixels: Tensor) throws -> Tensor {
        guard pixels.rank == 4, pixels.shape[0] > Self.imagesPerPass else {
            return visualProjection(try vision.pooled(pixels))
        }
        let batch = pixels.shape[0]
        let passes = stride(from: 0, to: batch, by: Self.imagesPerPass).map { $0 ..< min($0 + Self.imagesPerPass, batch) }
        return Tensor.concatenatingRows(try passes.map { visualProjection(try vision.pooled(pixels.rows($0))) }, rowShape: [embeddingDim])
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
