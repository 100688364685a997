import Foundation
import GlimpseCore

/// BLIP's image tower hyper-parameters (`vision_config`): the shared ViT configuration.
public typealias BLIPVisionConfig = VisionConfig

extension VisionConfig {
    /// transformers' BlipVisionConfig defaults (ViT-B/16 at 384 px).
    public static let blip = VisionConfig(
        tower: TransformerShape(hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12, activation: .gelu, layerNormEps: 1e-5),
        imageSize: 384, patchSize: 16)
}

/// BLIP's text side (`text_config`): a BERT with cross-attention to the image tokens, plus
/// the special ids generation uses. Defaults are transformers' BlipTextConfig.
public struct BLIPTextConfig: Sendable, Equatable {
    public var bert: BERTConfig
    /// [DEC], the decoder's first token (replaces [CLS]).
    public var bosTokenId: Int
    public var padTokenId: Int
    /// [SEP]: generation stops here (BLIP passes sep_token_id as eos_token_id).
    public var sepTokenId: Int

    init(_ section: ConfigReader, visionWidth: Int) throws {
        let defaults = BERTConfig(tower: TransformerShape(hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 8,
                                                          activation: .gelu, layerNormEps: 1e-12),
                                  vocabularySize: 30524, maxPositions: 512, typeVocabularySize: 0, crossAttentionWidth: visionWidth)
        bert = try BERTConfig(section, defaults: defaults)
        bert.typeVocabularySize = 0  // BLIP's text embeddings have no token types
        bosTokenId = try section.int("bos_token_id", default: 30522)
        padTokenId = try section.int("pad_token_id", default: 0)
        sepTokenId = try section.int("sep_token_id", default: 102)
        for (name, id) in [("bos_token_id", bosTokenId), ("pad_token_id", padTokenId), ("sep_token_id", sepTokenId)]
        where !(0 ..< bert.vocabularySize).contains(id) {
            throw GlimpseError.invalidConfig("\(section.context): \(name) \(id) is outside the vocabulary of \(bert.vocabularySize)")
        }
    }
}

/// A whole `BlipConfig` (model_type "blip"), shared by captioning and retrieval checkpoints.
public struct BLIPConfig: Sendable, Equatable {
    public var vision: BLIPVisionConfig
    public var text: BLIPTextConfig
    /// Width of the ITC embedding space (vision_proj / text_proj).
    public var imageTextHiddenSize: Int
    /// `architectures[0]` from config.json, when present.
    public var architecture: String?

    public init(reader: ConfigReader) throws {
        try reader.requireModelType("blip", "a BLIP checkpoint")
        vision = try VisionConfig(reader.section("vision_config") ?? ConfigReader(values: [:], context: "\(reader.context) › vision_config"),
                                  defaults: .blip)
        text = try BLIPTextConfig(reader.section("text_config") ?? ConfigReader(values: [:], context: "\(reader.context) › text_config"),
                                  visionWidth: vision.tower.hiddenSize)
        imageTextHiddenSize = try reader.dimension("image_text_hidden_size", default: 256)
        architecture = (reader.values["architectures"] as? [String])?.first
    }
}
