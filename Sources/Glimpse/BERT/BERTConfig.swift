import Foundation
import GlimpseCore

/// Hyper-parameters of a BERT-style (post-LN) text transformer, read from a `BertConfig`
/// or BLIP's `text_config`. Defaults are bert-base's; BLIP's text config overrides them.
public struct BERTConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var activation: Activation
    public var layerNormEps: Float
    public var vocabularySize: Int
    public var maxPositions: Int
    /// Rows of `token_type_embeddings`; 0 when the model has none (BLIP).
    public var typeVocabularySize: Int
    /// Width of the states cross-attention reads (BLIP: the vision hidden size); nil for a
    /// plain encoder without cross-attention layers.
    public var crossAttentionWidth: Int?

    public var headDim: Int { hiddenSize / heads }

    public init(hiddenSize: Int = 768, intermediateSize: Int = 3072, layers: Int = 12, heads: Int = 12,
                activation: Activation = .gelu, layerNormEps: Float = 1e-12, vocabularySize: Int = 30522,
                maxPositions: Int = 512, typeVocabularySize: Int = 2, crossAttentionWidth: Int? = nil) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.activation = activation
        self.layerNormEps = layerNormEps
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.crossAttentionWidth = crossAttentionWidth
    }

    /// Reads the common BERT keys of `section`, each falling back to `defaults`.
    public init(_ section: ConfigReader, defaults: BERTConfig = BERTConfig()) throws {
        let shape = try section.transformerShape(defaults: TransformerShape(
            hiddenSize: defaults.hiddenSize, intermediateSize: defaults.intermediateSize, layers: defaults.layers,
            heads: defaults.heads, activation: defaults.activation, layerNormEps: defaults.layerNormEps))
        (hiddenSize, intermediateSize, layers, heads) = (shape.hiddenSize, shape.intermediateSize, shape.layers, shape.heads)
        (activation, layerNormEps) = (shape.activation, shape.layerNormEps)
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
