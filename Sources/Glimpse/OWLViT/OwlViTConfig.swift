import Foundation
import GlimpseCore

/// A whole `OwlViTConfig`: OWL-ViT's towers are CLIP's (Minderer et al. 2022, §3.1), with
/// other defaults — a 16-token text context and 768×768 images — and text pooled at the
/// largest token id, as the reference always does.
public struct OwlViTConfig: Sendable, Equatable {
    public var text: CLIPTextConfig
    public var vision: CLIPVisionConfig
    public var projectionDim: Int

    public init(reader: ConfigReader) throws {
        try reader.requireModelType("owlvit", "an OWL-ViT checkpoint")
        text = try CLIPTextConfig(CLIPConfig.tower(reader, "text_config"), maxPositions: 16)
        text.poolsAtArgmax = true
        vision = try VisionConfig(CLIPConfig.tower(reader, "vision_config"), defaults: .clip(imageSize: 768))
        projectionDim = try reader.dimension("projection_dim", default: 512)
        // The class head maps patch tokens to text-hidden width and compares them with
        // projected text embeddings, so the two widths must agree (they do in every release).
        guard projectionDim == text.tower.hiddenSize else {
            throw GlimpseError.invalidConfig("\(reader.context): projection_dim \(projectionDim) differs from text_config.hidden_size \(text.tower.hiddenSize); OWL-ViT's class head needs them equal")
        }
    }

    /// Patches per side of the (square) image grid.
    public var gridSize: Int { vision.gridSize }
    /// Patch tokens per image: one box and one class embedding each.
    public var patches: Int { gridSize * gridSize }
}
