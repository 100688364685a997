import Foundation

/// Cross-entropy between rows of logits and class targets, as `torch.nn.functional.cross_entropy`
/// with `label_smoothing` and `ignore_index`, mean reduction.
///
/// With ε the smoothing and C the classes, row i's target distribution is
/// q = (1 − ε)·onehot(yᵢ) + ε / C and its loss −Σ_c q_c log softmax(xᵢ)_c; the result is the mean
/// over the rows whose target is not `ignoreIndex`. The gradient is (softmax(xᵢ) − q) / N_valid.
/// A scalar (shape []).
public func crossEntropy(_ logits: Tensor, targets: [Int], labelSmoothing: Float = 0,
                         ignoreIndex: Int? = nil) throws -> Tensor {
    guard logits.rank == 2, logits.shape[0] == targets.count else {
        throw GlimpseError.invalidArgument("cross-entropy: logits of shape \(logits.shape) for \(targets.count) targets; expected [\(targets.count), classes]")
    }
    guard (0 ... 1).contains(labelSmoothing) else {
        throw GlimpseError.invalidArgument("cross-entropy: label smoothing \(labelSmoothing) is outside 0 ... 1")
    }
    let classes = logits.shape[1]
    var valid = 0
    for t in targets where t != ignoreIndex {
        guard t >= 0 && t < classes else {
            throw GlimpseError.invalidArgument("cross-entropy: target \(t) is outside the \(classes) classes")
        }
        valid += 1
    }
    guard valid > 0 else { throw GlimpseError.invalidArgument("cross-entropy: every target is the ignored index") }
    let eps = Double(labelSmoothing), uniform = eps / Double(classes)
    // Softmax rows kept for the backward pass (only when recording).
    let tape = GradientTape.current, rx = tape?.ref(logits)
    let probabilities = rx == nil ? nil : Tensor(zeros: logits.shape)
    var total = 0.0
    for (i, t) in targets.enumerated() where t != ignoreIndex {
        let row = logits.data + i * classes
        let logZ = logSumExp(row, classes)
        var loss = -(1 - eps) * (Double(row[t]) - logZ)
        if eps > 0 {
            var logSum = 0.0
            for c in 0 ..< classes { logSum += Double(row[c]) - logZ }
            loss -= uniform * logSum
        }
        total += loss
        if let probabilities {
            let out = probabilities.data + i * classes
            for c in 0 ..< classes { out[c] = Float(exp(Double(row[c]) - logZ)) }
        }
    }
    let result = Tensor(shape: [], values: [Float(total / Double(valid))])
    if let tape, let rx, let probabilities {
        tape.record(output: result) { [unowned tape] g in
            let dx = tape.gradient(rx), scale = g[0] / Float(valid)
            for (i, t) in targets.enumerated() where t != ignoreIndex {
                let p = probabilities.data + i * classes, d = dx + i * classes
                for c in 0 ..< classes {
                    let q = Float(uniform) + (c == t ? Float(1 - eps) : 0)
                    d[c] += scale * (p[c] - q)
                }
            }
        }
    }
    return result
}

/// Cross-entropy against target distributions: the mean over rows of −Σ_c q_ic log softmax(xᵢ)_c,
/// for `targets` q [rows, classes] whose rows are distributions (checked: non-negative, summing
/// to 1). BLIP's contrastive loss with soft targets is written this way. The targets are
/// constants; the gradient is (softmax(xᵢ) − qᵢ) / rows.
public func crossEntropy(_ logits: Tensor, softTargets targets: Tensor) throws -> Tensor {
    guard logits.rank == 2, targets.shape == logits.shape, logits.shape[0] > 0 else {
        throw GlimpseError.invalidArgument("cross-entropy: logits of shape \(logits.shape) and soft targets of shape \(targets.shape); expected the same non-empty [rows, classes]")
    }
    let rows = logits.shape[0], classes = logits.shape[1]
    for i in 0 ..< rows {
        let q = targets.data + i * classes
        var sum = 0.0
        for c in 0 ..< classes {
            guard q[c] >= 0, q[c].isFinite else {
                throw GlimpseError.invalidArgument("cross-entropy: soft target row \(i) holds \(q[c]); expected a distribution")
            }
            sum += Double(q[c])
        }
        guard abs(sum - 1) <= 1e-3 else {
            throw GlimpseError.invalidArgument("cross-entropy: soft target row \(i) sums to \(sum); expected 1")
        }
    }
    let tape = GradientTape.current, rx = tape?.ref(logits)
    let probabilities = rx == nil ? nil : Tensor(zeros: logits.shape)
    var total = 0.0
    for i in 0 ..< rows {
        let row = logits.data + i * classes, q = targets.data + i * classes
        let logZ = logSumExp(row, classes)
        for c in 0 ..< classes where q[c] > 0 { total -= Double(q[c]) * (Double(row[c]) - logZ) }
        if let probabilities {
            let out = probabilities.data + i * classes
            for c in 0 ..< classes { out[c] = Float(exp(Double(row[c]) - logZ)) }
        }
    }
    let result = Tensor(shape: [], values: [Float(total / Double(rows))])
    if let tape, let rx, let probabilities {
        tape.record(output: result) { [unowned tape] g in
            withExtendedLifetime(targets) {
                let dx = tape.gradient(rx), scale = g[0] / Float(rows)
                for i in 0 ..< rows * classes { dx[i] += scale * (probabilities.data[i] - targets.data[i]) }
            }
        }
    }
    return result
}

/// log Σ exp(row[c]) in Double, shifted by the row's maximum so that nothing overflows.
private func logSumExp(_ row: UnsafeMutablePointer<Float>, _ classes: Int) -> Double {
    var peak = -Double.infinity
    for c in 0 ..< classes { peak = max(peak, Double(row[c])) }
    var sum = 0.0
    for c in 0 ..< classes { sum += exp(Double(row[c]) - peak) }
    return peak + log(sum)
}
