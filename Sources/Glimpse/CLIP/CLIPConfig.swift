import Foundation
import GlimpseCore

/// Hyper-parameters of one CLIP tower, read from `text_config` / `vision_config`: exactly
/// the transformer keys every config shares, so the shared shape serves as it is. Defaults
/// (given where each tower is read) are transformers' CLIPTextConfig / CLIPVisionConfig (ViT-B/32).
public typealias CLIPTowerConfig = TransformerShape

public struct CLIPTextConfig: Sendable, Equatable {
    public var tower: CLIPTowerConfig
    public var vocabularySize: Int
    public var maxPositions: Int
    public var eosTokenId: Int
    /// Pool at the *largest* token id (EOT is the largest id in CLIP's vocabulary) instead of
    /// the first `eos_token_id`: what CLIP checkpoints saved before transformers PR #24773
    /// (eos_token_id = 2) get, and what OWL-ViT always does.
    public var poolsAtArgmax: Bool

    /// `maxPositions` is the default context when the config omits it (77 for CLIP, 16 for OWL-ViT).
    init(_ section: ConfigReader, maxPositions defaultPositions: Int = 77) throws {
        tower = try section.transformerShape(defaults: .init(hiddenSize: 512, intermediateSize: 2048, layers: 12, heads: 8,
                                                              activation: .quickGelu, layerNormEps: 1e-5))
        vocabularySize = try section.dimension("vocab_size", default: 49408)
        maxPositions = try section.dimension("max_position_embeddings", default: defaultPositions)
        eosTokenId = try section.int("eos_token_id", default: 49407)
        poolsAtArgmax = eosTokenId == 2
    }

    init(tower: CLIPTowerConfig, vocabularySize: Int, maxPositions: Int) {
        self.tower = tower
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        eosTokenId = vocabularySize - 1
        poolsAtArgmax = true
    }
}

/// A CLIP image tower's configuration: the shared ViT configuration.
public typealias CLIPVisionConfig = VisionConfig

extension VisionConfig {
    /// transformers' CLIPVisionConfig defaults (ViT-B/32); `imageSize` is 224 for CLIP, 768 for OWL-ViT.
    public static func clip(imageSize: Int = 224) -> VisionConfig {
        VisionConfig(tower: .init(hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12,
                                  activation: .quickGelu, layerNormEps: 1e-5),
                     imageSize: imageSize, patchSize: 32)
    }
}

/// A whole `CLIPConfig`: both towers plus the shared embedding space.
public struct CLIPConfig: Sendable, Equatable {
    public var text: CLIPTextConfig
    public var vision: CLIPVisionConfig
    public var projectionDim: Int

    public init(reader: ConfigReader) throws {
        try reader.requireModelType("clip", "a CLIP checkpoint")
        text = try CLIPTextConfig(Self.tower(reader, "text_config"))
        vision = try VisionConfig(Self.tower(reader, "vision_config"), defaults: .clip())
        projectionDim = try reader.dimension("projection_dim", default: 512)
    }

    public init(contentsOf url: URL) throws {
        try self.init(reader: ConfigReader(contentsOf: url))
    }

    /// A tower section; older checkpoints also carry `*_config_dict`, whose values win,
    /// as in transformers.
    static func tower(_ reader: ConfigReader, _ key: String) throws -> ConfigReader {
        let base = try reader.section(key)
        let overrides = try reader.section(key + "_dict")
        guard base != nil || overrides != nil else {
            throw GlimpseError.invalidConfig("\(reader.context): no '\(key)' section; is this a CLIP model's config.json?")
        }
        var merged = base?.values ?? [:]
        for (k, v) in overrides?.values ?? [:] { merged[k] = v }
        return ConfigReader(values: merged, context: "\(reader.context) › \(key)")
    }
}
