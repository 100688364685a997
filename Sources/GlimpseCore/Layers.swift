/// The two parameterised building blocks every model here is made of, loaded by
/// Hugging Face parameter-name prefix with their shapes checked against the config.

/// y = x Wᵀ + b, W stored [out, in] as in PyTorch.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// Loads `prefix.weight` [outFeatures, inFeatures] and, when `bias`, `prefix.bias`.
    public init(_ store: WeightStore, _ prefix: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws {
        weight = try store.tensor("\(prefix).weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? try store.tensor("\(prefix).bias", shape: [outFeatures]) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}

public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ store: WeightStore, _ prefix: String, dim: Int, eps: Float) throws {
        weight = try store.tensor("\(prefix).weight", shape: [dim])
        bias = try store.tensor("\(prefix).bias", shape: [dim])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
