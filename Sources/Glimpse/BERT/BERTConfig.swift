import Foundation
import GlimpseCore

/// Hyper-parameters of a BERT-style (post-LN) text transformer, read from a `BertConfig`
/// or BLIP's `text_config`. Defaults are bert-base's; BLIP's text config overrides them.
public struct BERTConfig: Sendable, Equatable {
    /// Width, depth, heads, activation and LN epsilon: the keys every transformer config shares.
    public var tower: TransformerShape
    public var vocabularySize: Int
    public var maxPositions: Int
    /// Rows of `token_type_embeddings`; 0 when the model has none (BLIP).
    public var typeVocabularySize: Int
    /// Width of the states cross-attention reads (BLIP: the vision hidden size); nil for a
    /// plain encoder without cross-attention layers.
    public var crossAttentionWidth: Int?

    /// bert-base's shape.
    public static let baseTower = TransformerShape(hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12,
                                                   activation: .gelu, layerNormEps: 1e-12)

    public init(tower: TransformerShape = BERTConfig.baseTower, vocabularySize: Int = 30522, maxPositions: Int = 512,
                typeVocabularySize: Int = 2, crossAttentionWidth: Int? = nil) {
        self.tower = tower
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.crossAttentionWidth = crossAttentionWidth
    }

    /// Reads the common BERT keys of `section`, each falling back to `defaults`.
    public init(_ section: ConfigReader, defaults: BERTConfig = BERTConfig()) throws {
        tower = try section.transformerShape(defaults: defaults.tower)
        vocabularySize = try section.dimension("vocab_size", default: defaults.vocabularySize)
        maxPositions = try section.dimension("max_position_embeddings", default: defaults.maxPositions)
        typeVocabularySize = try section.count("type_vocab_size", default: defaults.typeVocabularySize)
        crossAttentionWidth = defaults.crossAttentionWidth
        if section.contains("position_embedding_type") {
            let kind = try section.string("position_embedding_type")
            guard kind == "absolute" else {
                throw GlimpseError.unsupported("\(section.context): position_embedding_type '\(kind)' (only 'absolute')")
            }
        }
    }
}
