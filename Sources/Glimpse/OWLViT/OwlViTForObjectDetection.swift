import Foundation
import GlimpseCore

/// Patch features of a batch of images: the input of both heads.
public struct OwlViTFeatureMap: Sendable {
    /// [images · patches, hidden], patches row-major over the grid.
    public let features: Tensor
    public let images: Int
    public let patches: Int

    /// One image's rows [patches, hidden] (a view).
    public func image(_ i: Int) -> Tensor { features.rows(i * patches ..< (i + 1) * patches) }
}

/// OWL-ViT (Minderer et al. 2022, "Simple Open-Vocabulary Object Detection with Vision
/// Transformers"): a CLIP image tower without pooling, whose patch tokens — each multiplied
/// by the class token and layer-normalised — become one box and one class embedding each.
/// Queries are CLIP text embeddings or, for one-shot detection, class embeddings picked
/// from a query image.
///
/// The network alone, like transformers' `OwlViTForObjectDetection`; `OwlViT` adds files,
/// preprocessing, tokenisation and post-processing. Parameter names follow the reference
/// (`owlvit.vision_model…`, `box_head…`, `class_head…`, `layer_norm`).
public final class OwlViTForObjectDetection: Sendable {
    public let config: OwlViTConfig
    public let vision: VisionTransformer
    public let text: CLIPTextTransformer
    let textProjection: Linear
    let layerNorm: LayerNorm
    public let boxHead: BoxHead
    public let classHead: ClassHead

    public init(config: OwlViTConfig, weights: WeightStore, prefix: String = "owlvit") throws {
        self.config = config
        let width = config.vision.tower.hiddenSize
        vision = try VisionTransformer(weights, prefix: "\(prefix).vision_model", config: config.vision, names: .owlViT)
        text = try CLIPTextTransformer(weights, prefix: "\(prefix).text_model", config: config.text)
        textProjection = try Linear(weights, "\(prefix).text_projection", in: config.text.tower.hiddenSize,
                                    out: config.projectionDim, bias: false, exact: true)
        layerNorm = try LayerNorm(weights, "layer_norm", dim: width, eps: config.vision.tower.layerNormEps)
        boxHead = try BoxHead(weights, "box_head", width: width, gridHeight: config.gridSize, gridWidth: config.gridSize)
        classHead = try ClassHead(weights, "class_head", visionWidth: width, queryWidth: config.text.tower.hiddenSize)
    }

    public convenience init(checkpoint: Checkpoint) throws {
        try self.init(config: OwlViTConfig(reader: checkpoint.config()), weights: checkpoint.weights())
    }

    /// The reference's `image_embedder`: post-LN on every token, patch tokens times the class
    /// token, then the detection layer norm. Pixels [B, C, S, S].
    public func featureMap(pixels: Tensor) throws -> OwlViTFeatureMap {
        let hidden = try vision(pixels)
        let batch = pixels.shape[0], tokens = config.vision.positions, patches = tokens - 1
        // Row i of the result is patch i % patches of image i / patches, times that image's class token.
        let merged = hidden.gatherRows((0 ..< batch * patches).map { $0 / patches * tokens + $0 % patches + 1 })
        multiplyInPlace(merged, hidden.gatherRows((0 ..< batch * patches).map { $0 / patches * tokens }))
        return OwlViTFeatureMap(features: layerNorm(merged), images: batch, patches: patches)
    }

    /// Normalised text query embeddings [queries, projection] (the reference's `text_embeds`)
    /// from token ids with start and end tokens, unpadded.
    public func textEmbeddings(ids: [[Int]]) throws -> Tensor {
        let embeddings = textProjection(try text.pooled(ids))
        l2NormalizeInPlace(embeddings)
        return embeddings
    }

    /// The reference's query mask: a query is real when its first token id is positive.
    /// (CLIP's tokenizer always starts with the start token, so only hand-made padding rows
    /// of zeros are masked.)
    public static func queryMask(_ ids: [[Int]]) -> [Bool] { ids.map { ($0.first ?? 0) > 0 } }

    /// Boxes [images · patches, 4], (cx, cy, w, h) normalised to the network input.
    public func boxes(_ map: OwlViTFeatureMap) -> Tensor { boxHead(map.features) }

    /// Logits [patches, queries] of image `i` against `queries` [queries, projection], and its
    /// normalised class embeddings [patches, projection].
    public func logits(_ map: OwlViTFeatureMap, image i: Int, queries: Tensor, mask: [Bool]? = nil) -> (logits: Tensor, classEmbeddings: Tensor) {
        classHead.logits(features: map.image(i), queries: queries, mask: mask)
    }
}
