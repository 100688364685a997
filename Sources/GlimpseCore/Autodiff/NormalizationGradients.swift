import Foundation

/// Backward passes of the row-wise normalisations: layer norm, softmax, log-softmax and L2
/// normalisation, each over the last dimension. Row statistics are recomputed from the saved
/// input (in Double) rather than kept from the forward pass, which stays untouched.
extension GradientTape {
    /// Layer norm: with x̂ = (x − μ)·r, r = 1/√(σ² + ε) and g = dy ⊙ w,
    /// dx = r · (g − mean(g) − x̂ · mean(g ⊙ x̂)), dw += Σ dy ⊙ x̂, db += Σ dy.
    /// Rows in parallel for the statistics and dx, column blocks for dw and db (no shared sums).
    package func recordLayerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: Float, output: Tensor) {
        let rx = ref(x), rw = ref(weight), rb = ref(bias)
        if rx == nil && rw == nil && rb == nil { return }
        let dim = x.shape[x.rank - 1], rows = x.count / dim
        record(output: output) { [unowned self] dy in
            withExtendedLifetime((x, weight)) {
                let dx = rx.map { self.gradient($0) }, dw = rw.map { self.gradient($0) }, db = rb.map { self.gradient($0) }
                let xs = x.data, w = weight.data
                let means = UnsafeMutablePointer<Double>.allocate(capacity: max(rows, 1))
                let rstds = UnsafeMutablePointer<Double>.allocate(capacity: max(rows, 1))
                defer { means.deallocate(); rstds.deallocate() }
                Parallel.forEach(rows, grain: max(1, 4096 / max(dim, 1))) { range in
                    for r in range {
                        let xr = xs + r * dim, g = dy + r * dim
                        var mean = 0.0
                        for j in 0 ..< dim { mean += Double(xr[j]) }
                        mean /= Double(dim)
                        var variance = 0.0
                        for j in 0 ..< dim { let c = Double(xr[j]) - mean; variance += c * c }
                        let rstd = 1 / (variance / Double(dim) + Double(eps)).squareRoot()
                        means[r] = mean
                        rstds[r] = rstd
                        guard let dx else { continue }
                        var meanG = 0.0, meanGX = 0.0
                        for j in 0 ..< dim {
                            let gw = Double(g[j]) * Double(w[j])
                            meanG += gw
                            meanGX += gw * (Double(xr[j]) - mean) * rstd
                        }
                        meanG /= Double(dim)
                        meanGX /= Double(dim)
                        for j in 0 ..< dim {
                            let gw = Double(g[j]) * Double(w[j]), xhat = (Double(xr[j]) - mean) * rstd
                            dx[r * dim + j] += Float(rstd * (gw - meanG - xhat * meanGX))
                        }
                    }
                }
                if dw == nil && db == nil { return }
                Parallel.forEach(dim, grain: 16) { columns in
                    for j in columns {
                        var sumW = 0.0, sumB = 0.0
                        for r in 0 ..< rows {
                            let g = Double(dy[r * dim + j])
                            sumW += g * (Double(xs[r * dim + j]) - means[r]) * rstds[r]
                            sumB += g
                        }
                        dw?[j] += Float(sumW)
                        db?[j] += Float(sumB)
                    }
                }
            }
        }
    }

    /// Softmax: dx = y ⊙ (dy − Σ dy ⊙ y).
    package func recordSoftmax(x: Tensor, output y: Tensor) {
        guard let rx = ref(x) else { return }
        let cols = x.shape[x.rank - 1], rows = x.count / cols
        record(output: y) { [unowned self] g in
            withExtendedLifetime(y) {
                let dx = self.gradient(rx)
                for r in 0 ..< rows {
                    let o = r * cols
                    var dot = 0.0
                    for j in 0 ..< cols { dot += Double(g[o + j]) * Double(y.data[o + j]) }
                    for j in 0 ..< cols { dx[o + j] += y.data[o + j] * (g[o + j] - Float(dot)) }
                }
            }
        }
    }

    /// Log-softmax: dx = dy − softmax(x) · Σ dy, with softmax(x) = exp(y).
    package func recordLogSoftmax(x: Tensor, output y: Tensor) {
        guard let rx = ref(x) else { return }
        let cols = x.shape[x.rank - 1], rows = x.count / cols
        record(output: y) { [unowned self] g in
            withExtendedLifetime(y) {
                let dx = self.gradient(rx)
                for r in 0 ..< rows {
                    let o = r * cols
                    var sum = 0.0
                    for j in 0 ..< cols { sum += Double(g[o + j]) }
                    for j in 0 ..< cols { dx[o + j] += g[o + j] - Float(Foundation.exp(Double(y.data[o + j])) * sum) }
                }
            }
        }
    }

    /// y = x / max(‖x‖, ε): dx = (dy − y · Σ dy ⊙ y) / ‖x‖ (dx = dy / ε where the floor applies).
    package func recordL2Normalization(x: Tensor, eps: Float, output y: Tensor) {
        guard let rx = ref(x) else { return }
        let cols = x.shape[x.rank - 1], rows = x.count / cols
        record(output: y) { [unowned self] g in
            withExtendedLifetime((x, y)) {
                let dx = self.gradient(rx)
                for r in 0 ..< rows {
                    let o = r * cols
                    var squares = 0.0, dot = 0.0
                    for j in 0 ..< cols {
                        squares += Double(x.data[o + j]) * Double(x.data[o + j])
                        dot += Double(g[o + j]) * Double(y.data[o + j])
                    }
                    let norm = squares.squareRoot()
                    if norm > Double(eps) {
                        for j in 0 ..< cols { dx[o + j] += Float((Double(g[o + j]) - Double(y.data[o + j]) * dot) / norm) }
                    } else {
                        for j in 0 ..< cols { dx[o + j] += g[o + j] / eps }
                    }
                }
            }
        }
    }
}

/// Log-softmax over the last dimension, as a new tensor: x − log Σ exp(x), computed stably.
public func logSoftmax(_ x: Tensor) -> Tensor {
    let cols = x.shape[x.rank - 1], rows = x.count / max(cols, 1)
    let y = Tensor(uninitialized: x.shape)
    for r in 0 ..< rows {
        let o = r * cols
        var peak = -Float.infinity
        for j in 0 ..< cols { peak = max(peak, x.data[o + j]) }
        var sum = 0.0
        for j in 0 ..< cols { sum += Foundation.exp(Double(x.data[o + j] - peak)) }
        let shift = peak + Float(Foundation.log(sum))
        for j in 0 ..< cols { y.data[o + j] = x.data[o + j] - shift }
    }
    GradientTape.current?.recordLogSoftmax(x: x, output: y)
    return y
}
