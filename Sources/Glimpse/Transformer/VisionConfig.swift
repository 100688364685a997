import Foundation
import GlimpseCore

/// A ViT image tower's hyper-parameters (`vision_config`): the transformer shape and the patch
/// grid. CLIP, OWL-ViT and BLIP read the same keys; only their defaults differ
/// (`VisionConfig.clip`, `.blip`).
public struct VisionConfig: Sendable, Equatable {
    public var tower: TransformerShape
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int

    /// Patches per side of the square grid.
    public var gridSize: Int { imageSize / patchSize }
    /// Patch tokens plus the class token.
    public var positions: Int { gridSize * gridSize + 1 }

    public init(tower: TransformerShape, imageSize: Int, patchSize: Int, channels: Int = 3) {
        self.tower = tower
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
    }

    /// Reads `section`, each absent key taken from `defaults`.
    init(_ section: ConfigReader, defaults: VisionConfig) throws {
        tower = try section.transformerShape(defaults: defaults.tower)
        imageSize = try section.dimension("image_size", default: defaults.imageSize)
        patchSize = try section.dimension("patch_size", default: defaults.patchSize)
        channels = try section.dimension("num_channels", default: defaults.channels)
        guard imageSize % patchSize == 0 else {
            throw GlimpseError.invalidConfig("\(section.context): image_size \(imageSize) is not a multiple of patch_size \(patchSize)")
        }
    }
}
