/// The hyper-parameters every transformer config carries under the same Hugging Face keys
/// (`hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`,
/// `hidden_act`, `layer_norm_eps`), read and checked in one place for CLIP, BERT and BLIP.
public struct TransformerShape: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var activation: Activation
    public var layerNormEps: Float

    public var headDim: Int { hiddenSize / heads }

    public init(hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, activation: Activation, layerNormEps: Float) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.activation = activation
        self.layerNormEps = layerNormEps
    }
}

extension ConfigReader {
    /// The shared keys of this section, each absent one taken from `defaults`: sizes within
    /// `Limits.configDimension`, a finite positive epsilon, and a hidden size that splits
    /// evenly over the heads.
    public func transformerShape(defaults: TransformerShape) throws -> TransformerShape {
        var shape = defaults
        shape.hiddenSize = try dimension("hidden_size", default: defaults.hiddenSize)
        shape.intermediateSize = try dimension("intermediate_size", default: defaults.intermediateSize)
        shape.layers = try count("num_hidden_layers", default: defaults.layers)
        shape.heads = try dimension("num_attention_heads", default: defaults.heads)
        if contains("hidden_act") {
            let name = try string("hidden_act")
            guard let activation = Activation(huggingFace: name) else {
                throw GlimpseError.invalidConfig("\(context): unsupported hidden_act '\(name)'")
            }
            shape.activation = activation
        }
        shape.layerNormEps = Float(try positive("layer_norm_eps", default: Double(defaults.layerNormEps)))
        guard shape.hiddenSize % shape.heads == 0 else {
            throw GlimpseError.invalidConfig("\(context): hidden_size \(shape.hiddenSize) is not divisible by num_attention_heads \(shape.heads)")
        }
        return shape
    }
}
