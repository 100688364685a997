import Foundation

/// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay and bias correction,
/// step for step as `torch.optim.AdamW` (its single-tensor path): per parameter,
/// p ← p·(1 − lr·λ); m ← m + (1 − β₁)(g − m); v ← β₂v + (1 − β₂)g²;
/// p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
///
/// The parameters are the writable tensors training owns (`TrainableWeights`); the models
/// read the same memory, so a step changes them in place.
public final class AdamW {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    /// λ for each parameter (0 for those excluded from decay, e.g. biases and norms).
    public let weightDecay: [Float]
    public let parameters: [Tensor]
    /// Steps taken so far (t in the bias corrections).
    public private(set) var step = 0
    /// First and second moments, one pair per parameter (the optimizer state a checkpoint keeps).
    public private(set) var firstMoments: [Tensor]
    public private(set) var secondMoments: [Tensor]

    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 1e-2, decayed: ((Int) -> Bool)? = nil) throws {
        if let readOnly = parameters.first(where: \.isReadOnly) {
            throw GlimpseError.invalidArgument("AdamW: a parameter of shape \(readOnly.shape) is read-only (memory-mapped); train on TrainableWeights")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        (self.beta1, self.beta2, self.eps) = (beta1, beta2, eps)
        self.weightDecay = parameters.indices.map { (decayed?($0) ?? true) ? weightDecay : 0 }
        firstMoments = parameters.map { Tensor(zeros: $0.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// Restores a saved state (a training checkpoint): the step count and both moments, each
    /// the shape of its parameter, so the next update is the one an uninterrupted run makes.
    public func restore(step: Int, firstMoments first: [Tensor], secondMoments second: [Tensor]) throws {
        guard step >= 0, first.count == parameters.count, second.count == parameters.count,
              parameters.indices.allSatisfy({ first[$0].shape == parameters[$0].shape && second[$0].shape == parameters[$0].shape }) else {
            throw GlimpseError.invalidArgument("AdamW: a saved state of \(first.count)/\(second.count) moments at step \(step) does not match the \(parameters.count) parameters")
        }
        self.step = step
        firstMoments = first.map { $0.copy() }
        secondMoments = second.map { $0.copy() }
    }

    /// One update from `gradients` (one per parameter, same shapes).
    public func update(gradients: [Tensor]) throws {
        guard gradients.count == parameters.count, zip(gradients, parameters).allSatisfy({ $0.count == $1.count }) else {
            throw GlimpseError.invalidArgument("AdamW: \(gradients.count) gradients do not match the \(parameters.count) parameters")
        }
        step += 1
        let t = Double(step)
        let correction1 = 1 - pow(Double(beta1), t), correction2Root = (1 - pow(Double(beta2), t)).squareRoot()
        let stepSize = Float(Double(learningRate) / correction1)
        let lr = learningRate
        for (index, parameter) in parameters.enumerated() {
            let g = gradients[index].data, m = firstMoments[index].data, v = secondMoments[index].data
            let decay = 1 - lr * weightDecay[index]
            parameter.withUnsafeMutableBufferPointer { p in
                for i in 0 ..< p.count {
                    p[i] *= decay
                    m[i] += (g[i] - m[i]) * (1 - beta1)
                    v[i] = v[i] * beta2 + (1 - beta2) * g[i] * g[i]
                    let denominator = v[i].squareRoot() / Float(correction2Root) + eps
                    p[i] += -stepSize * (m[i] / denominator)
                }
            }
        }
    }
}
