import CGlimpseKernels
import Foundation

/// Backward passes of the elementwise ops (adds, scales, biases, activations), and the
/// out-of-place forms of them that training code composes losses from.
extension GradientTape {
    /// y += x recorded as a new version of y: the gradient passes unchanged to both.
    package func recordAddInPlace(_ y: Tensor, old ry: Ref?, _ rx: Ref?) {
        if ry == nil && rx == nil { return }
        let count = y.count
        record(output: y) { [unowned self] g in
            if let ry { self.accumulate(ry, g, count: count) }
            if let rx { self.accumulate(rx, g, count: count) }
        }
    }

    /// x *= factor recorded as a new version of x.
    package func recordScaleInPlace(_ x: Tensor, old rx: Ref?, factor: Float) {
        guard let rx else { return }
        let count = x.count
        record(output: x) { [unowned self] g in self.accumulate(rx, g, count: count, scale: factor) }
    }

    /// An activation applied in place; `input` is a copy of x taken before it was overwritten.
    package func recordActivation(_ x: Tensor, old rx: Ref?, input: Tensor, _ activation: Activation) {
        guard let rx else { return }
        let count = x.count
        record(output: x) { [unowned self] g in
            withExtendedLifetime(input) {
                let dx = self.gradient(rx), v = input.data
                Parallel.forEach(count, grain: 1 << 14) { range in
                    for i in range { dx[i] += g[i] * activation.derivative(v[i]) }
                }
            }
        }
    }
}

extension Activation {
    /// d activation / dx at x, for the backward pass.
    package func derivative(_ x: Float) -> Float {
        switch self {
        case .gelu:
            let cdf = 0.5 * (1 + erf(x / Float(2).squareRoot()))
            return cdf + x * exp(-0.5 * x * x) / Float(2 * Double.pi).squareRoot()
        case .geluTanh:
            let c = Float(2 / Double.pi).squareRoot()
            let t = tanh(c * (x + 0.044715 * x * x * x))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        case .quickGelu:
            let s = 1 / (1 + exp(-1.702 * x))
            return s + 1.702 * x * s * (1 - s)
        case .relu:
            return x > 0 ? 1 : 0
        }
    }
}

/// `activation` applied elementwise, as a new tensor.
public func activated(_ x: Tensor, _ activation: Activation) -> Tensor {
    let y = x.copy()
    activateInPlace(y, activation)  // y is a fresh copy, so this records nothing itself
    if let tape = GradientTape.current { tape.recordActivation(y, old: tape.ref(x), input: x, activation) }
    return y
}

/// a + b, elementwise, as a new tensor (same element count).
public func added(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.count == b.count, "added: \(a.shape) vs \(b.shape)")
    let tape = GradientTape.current
    let y = a.copy()
    y.withUnsafeMutableBufferPointer { gl_add($0.baseAddress!, b.data, $0.count) }
    if let tape { tape.recordAddInPlace(y, old: tape.ref(a), tape.ref(b)) }
    return y
}

/// factor · x, as a new tensor.
public func scaled(_ x: Tensor, _ factor: Float) -> Tensor {
    let tape = GradientTape.current
    let y = x.copy()
    y.withUnsafeMutableBufferPointer { for i in 0 ..< $0.count { $0[i] *= factor } }
    if let tape { tape.recordScaleInPlace(y, old: tape.ref(x), factor: factor) }
    return y
}

/// x + bias with `bias` [d] added to every row of x [..., d].
public func addingBias(_ x: Tensor, _ bias: Tensor) -> Tensor {
    let d = bias.count
    precondition(x.count % max(d, 1) == 0 && x.shape.last == d, "addingBias: \(x.shape) vs \(bias.shape)")
    let y = x.copy()
    let rows = x.count / max(d, 1)
    for r in 0 ..< rows { for j in 0 ..< d { y.data[r * d + j] += bias.data[j] } }
    if let tape = GradientTape.current {
        let rx = tape.ref(x), rb = tape.ref(bias)
        if rx != nil || rb != nil {
            tape.record(output: y) { [unowned tape] g in
                if let rx { tape.accumulate(rx, g, count: rows * d) }
                if let rb {
                    let db = tape.gradient(rb)
                    for r in 0 ..< rows { for j in 0 ..< d { db[j] += g[r * d + j] } }
                }
            }
        }
    }
    return y
}

/// exp(min(logScale, maximum)) · x, for a one-element `logScale`: CLIP's logits from cosine
/// similarities with the learned temperature, clamped as in training (ln 100). Above the
/// clamp the temperature gets no gradient, as with `torch.clamp`.
public func scaledByExponential(_ x: Tensor, logScale: Tensor, maximum: Float) -> Tensor {
    precondition(logScale.count == 1, "scaledByExponential: the log-scale has shape \(logScale.shape)")
    let s = logScale.data[0]
    let factor = Foundation.exp(min(s, maximum))
    let y = x.copy()
    y.withUnsafeMutableBufferPointer { for i in 0 ..< $0.count { $0[i] *= factor } }
    if let tape = GradientTape.current {
        let rx = tape.ref(x), rs = tape.ref(logScale)
        if rx != nil || rs != nil {
            let count = x.count
            tape.record(output: y) { [unowned tape] g in
                withExtendedLifetime(x) {
                    if let rx { tape.accumulate(rx, g, count: count, scale: factor) }
                    if let rs, s <= maximum { tape.gradient(rs)[0] += Float(dot(g, x.data, count)) * factor }
                }
            }
        }
    }
    return y
}

/// x / t for a one-element `t`: BLIP's similarities over its learned temperature (which BLIP
/// clamps in place before the step, not inside the loss). ∂/∂x = g / t, ∂/∂t = −Σ g·x / t².
public func divided(_ x: Tensor, by t: Tensor) -> Tensor {
    precondition(t.count == 1, "divided: the divisor has shape \(t.shape)")
    let divisor = t.data[0]
    let y = x.copy()
    y.withUnsafeMutableBufferPointer { for i in 0 ..< $0.count { $0[i] /= divisor } }
    if let tape = GradientTape.current {
        let rx = tape.ref(x), rt = tape.ref(t)
        if rx != nil || rt != nil {
            let count = x.count
            tape.record(output: y) { [unowned tape] g in
                withExtendedLifetime(x) {
                    if let rx { tape.accumulate(rx, g, count: count, scale: 1 / divisor) }
                    if let rt { tape.gradient(rt)[0] -= Float(dot(g, x.data, count) / (Double(divisor) * Double(divisor))) }
                }
            }
        }
    }
    return y
}

/// Σ a[i]·b[i] in Double: the gradient of a one-element scale, summed over what it scaled.
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
    var sum: Double = 0
    for i in 0 ..< count { sum += Double(a[i]) * Double(b[i]) }
    return sum
}
