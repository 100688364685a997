/// The two parameterised building blocks every model here is made of, loaded by
/// Hugging Face parameter-name prefix with their shapes checked against the config.

/// y = x Wᵀ + b, W stored [out, in] as in PyTorch.
///
/// Loaded from a store that names a precision (`WeightStore.precision`), the weights are
/// packed once for that precision's kernel (`PackedWeight`) and the fp32 tensor is released.
/// While a gradient tape records, products run on the fp32 weights, so the backward pass
/// sees exactly the function it differentiates.
public struct Linear: Sendable {
    private enum Weights: Sendable {
        case plain(Tensor)
        /// The packed weights, and the fp32 tensor when keeping it costs nothing (a view of a
        /// memory-mapped file).
        case packed(PackedWeight, Tensor?)
    }

    private let weights: Weights
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        weights = .plain(weight)
        self.bias = bias
    }

    /// Packs `weight` at `precision` (nil, or fp32 where fp32 stays unpacked: plain).
    public init(weight: Tensor, bias: Tensor?, precision: Precision?) {
        self.bias = bias
        guard let precision, precision != .fp32 || PackedWeight.packsFP32,
              let packed = PackedWeight(weight: weight, bias: bias, precision: precision) else {
            weights = .plain(weight)
            return
        }
        PackedWeight.release(weight)
        weights = .packed(packed, weight.isMappedFromFile ? weight : nil)
    }

    /// Loads `prefix.weight` [outFeatures, inFeatures] and, when `bias`, `prefix.bias`, packed
    /// at the store's precision. `exact` keeps a small, sensitive layer (a head, a projection
    /// into the joint space) in fp32 whatever the store's precision.
    public init(_ store: WeightStore, _ prefix: String, in inFeatures: Int, out outFeatures: Int,
                bias: Bool = true, exact: Bool = false) throws {
        let weight = try store.tensor("\(prefix).weight", shape: [outFeatures, inFeatures])
        let bias = bias ? try store.tensor("\(prefix).bias", shape: [outFeatures]) : nil
        self.init(weight: weight, bias: bias, precision: exact ? store.precision.map { _ in .fp32 } : store.precision)
    }

    /// The fp32 weights [out, in]: as loaded, or, for a packed layer whose fp32 copy was freed,
    /// widened anew from the packed weights on each call (after bf16 rounding or int8
    /// quantization, when packed at those precisions).
    public var weight: Tensor {
        switch weights {
        case .plain(let weight): return weight
        case .packed(_, let weight?): return weight
        case .packed(let packed, nil): return packed.unpacked()
        }
    }

    /// The packed weights, when the layer was loaded packed.
    public var packed: PackedWeight? {
        if case .packed(let packed, _) = weights { return packed }
        return nil
    }

    public var inFeatures: Int {
        switch weights {
        case .plain(let weight): return weight.shape[1]
        case .packed(let packed, _): return packed.inFeatures
        }
    }

    public var outFeatures: Int {
        switch weights {
        case .plain(let weight): return weight.shape[0]
        case .packed(let packed, _): return packed.outFeatures
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if case .packed(let packed, _) = weights, GradientTape.current == nil { return packed.apply(x) }
        return linear(x, weight: weight, bias: bias)
    }
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
