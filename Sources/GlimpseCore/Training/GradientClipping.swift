/// Scales gradients so that their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_`: factor min(1, maxNorm / (‖g‖ + 10⁻⁶)). Returns the norm
/// before clipping (what a training log reports).
@discardableResult
public func clipGradientNorm(_ gradients: [Tensor], maxNorm: Float) -> Float {
    var squares = 0.0
    for g in gradients { g.withUnsafeBufferPointer { for x in $0 { squares += Double(x) * Double(x) } } }
    let norm = Float(squares.squareRoot())
    let factor = min(1, maxNorm / (norm + 1e-6))
    if factor < 1 {
        for g in gradients { g.withUnsafeMutableBufferPointer { for i in 0 ..< $0.count { $0[i] *= factor } } }
    }
    return norm
}
