import CGlimpseKernels

/// The non-GEMM primitives, each a thin call into the SIMD kernel library.
/// Ops that return a tensor allocate it; ops named `…InPlace` overwrite their input.
public enum Activation: String, Sendable, CaseIterable {
    /// x · Φ(x) with the exact error function (PyTorch `gelu`, HF "gelu").
    case gelu
    /// The tanh approximation (HF "gelu_new", "gelu_pytorch_tanh", "gelu_fast").
    case geluTanh
    /// x · σ(1.702 x), used by OpenAI's CLIP.
    case quickGelu
    case relu

    /// Parses an HF `hidden_act` string.
    public init?(huggingFace name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh": self = .geluTanh
        case "quick_gelu": self = .quickGelu
        case "relu": self = .relu
        default: return nil
        }
    }
}

/// Applies `activation` elementwise, in place.
package func activateInPlace(_ x: Tensor, _ activation: Activation) {
    let tape = GradientTape.current, rx = tape?.ref(x)
    let input = rx == nil ? nil : x.copy()
    defer { if let tape, let input { tape.recordActivation(x, old: rx, input: input, activation) } }
    Profiler.measure(.activation) {
        x.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            switch activation {
            case .gelu: gl_gelu_erf(p, buffer.count)
            case .geluTanh: gl_gelu_tanh(p, buffer.count)
            case .quickGelu: gl_quick_gelu(p, buffer.count)
            case .relu:
                Parallel.forEach(buffer.count, grain: 1 << 15) { range in
                    for i in range { p[i] = max(p[i], 0) }
                }
            }
        }
    }
}

/// Layer normalisation over the last dimension.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    Profiler.measure(.normalization) {
        let dim = x.shape[x.rank - 1]
        let y = Tensor(zeros: x.shape)
        gl_layer_norm(x.data, y.data, x.count / dim, dim, weight.data, bias.data, eps)
        GradientTape.current?.recordLayerNorm(x: x, weight: weight, bias: bias, eps: eps, output: y)
        return y
    }
}

/// Softmax over the last dimension, in place.
package func softmaxInPlace(_ x: Tensor) {
    precondition(GradientTape.current.map { tape in tape.ref(x) == nil } ?? true,
                 "softmaxInPlace is not differentiable; under a gradient tape use the out-of-place op")
    Profiler.measure(.normalization) {
        let cols = x.shape[x.rank - 1]
        x.withUnsafeMutableBufferPointer { gl_softmax_rows($0.baseAddress!, $0.count / cols, cols) }
    }
}

/// Softmax over the last dimension, as a new tensor.
public func softmax(_ x: Tensor) -> Tensor {
    let y = x.copy()
    softmaxInPlace(y)
    GradientTape.current?.recordSoftmax(x: x, output: y)
    return y
}

/// Divides each row (last dimension) by its L2 norm, in place.
package func l2NormalizeInPlace(_ x: Tensor, eps: Float = 1e-12) {
    precondition(GradientTape.current.map { tape in tape.ref(x) == nil } ?? true,
                 "l2NormalizeInPlace is not differentiable; under a gradient tape use the out-of-place op")
    Profiler.measure(.normalization) {
        let cols = x.shape[x.rank - 1]
        x.withUnsafeMutableBufferPointer { gl_l2_normalize_rows($0.baseAddress!, $0.count / cols, cols, eps) }
    }
}

/// Each row (last dimension) divided by its L2 norm, as a new tensor (e.g. CLIP features
/// before comparing them by cosine similarity).
public func l2Normalized(_ x: Tensor, eps: Float = 1e-12) -> Tensor {
    let y = x.copy()
    l2NormalizeInPlace(y, eps: eps)
    GradientTape.current?.recordL2Normalization(x: x, eps: eps, output: y)
    return y
}

/// y += x, elementwise (residual connections).
package func addInPlace(_ y: Tensor, _ x: Tensor) {
    let tape = GradientTape.current, ry = tape?.ref(y), rx = tape?.ref(x)
    defer { tape?.recordAddInPlace(y, old: ry, rx) }
    Profiler.measure(.elementwise) {
        precondition(y.count == x.count, "add: \(y.shape) vs \(x.shape)")
        y.withUnsafeMutableBufferPointer { gl_add($0.baseAddress!, x.data, $0.count) }
    }
}

/// y *= x, elementwise.
package func multiplyInPlace(_ y: Tensor, _ x: Tensor) {
    precondition(GradientTape.current.map { tape in tape.ref(y) == nil && tape.ref(x) == nil } ?? true,
                 "multiplyInPlace is not differentiable; under a gradient tape use the out-of-place op")
    Profiler.measure(.elementwise) {
        precondition(y.count == x.count, "multiply: \(y.shape) vs \(x.shape)")
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { factors in
                for i in 0 ..< out.count { out[i] *= factors[i] }
            }
        }
    }
}

/// x *= factor, elementwise.
package func scaleInPlace(_ x: Tensor, _ factor: Float) {
    let tape = GradientTape.current, rx = tape?.ref(x)
    defer { tape?.recordScaleInPlace(x, old: rx, factor: factor) }
    Profiler.measure(.elementwise) {
        x.withUnsafeMutableBufferPointer { gl_scale($0.baseAddress!, $0.count, factor) }
    }
}

/// Rows of `table` [vocab, dim] picked by `ids`; ids are validated by the caller.
public func embeddingLookup(_ table: Tensor, ids: [Int]) -> Tensor {
    Profiler.measure(.embedding) { table.gatherRows(ids) }
}
