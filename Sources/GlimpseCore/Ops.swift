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

public func activateInPlace(_ x: Tensor, _ activation: Activation) {
    Profiler.measure(.activation) {
        switch activation {
        case .gelu: gl_gelu_erf(x.data, x.count)
        case .geluTanh: gl_gelu_tanh(x.data, x.count)
        case .quickGelu: gl_quick_gelu(x.data, x.count)
        case .relu:
            Parallel.forEach(x.count, grain: 1 << 15) { range in
                for i in range { x.data[i] = max(x.data[i], 0) }
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
        return y
    }
}

/// Softmax over the last dimension, in place.
public func softmaxInPlace(_ x: Tensor) {
    Profiler.measure(.normalization) {
        let cols = x.shape[x.rank - 1]
        gl_softmax_rows(x.data, x.count / cols, cols)
    }
}

/// Divides each row (last dimension) by its L2 norm.
public func l2NormalizeInPlace(_ x: Tensor, eps: Float = 1e-12) {
    Profiler.measure(.normalization) {
        let cols = x.shape[x.rank - 1]
        gl_l2_normalize_rows(x.data, x.count / cols, cols, eps)
    }
}

/// y += x, elementwise (residual connections).
public func addInPlace(_ y: Tensor, _ x: Tensor) {
    Profiler.measure(.elementwise) {
        precondition(y.count == x.count, "add: \(y.shape) vs \(x.shape)")
        gl_add(y.data, x.data, y.count)
    }
}

public func scaleInPlace(_ x: Tensor, _ factor: Float) {
    Profiler.measure(.elementwise) {
        gl_scale(x.data, x.count, factor)
    }
}

/// Rows of `table` [vocab, dim] picked by `ids`; ids are validated by the caller.
public func embeddingLookup(_ table: Tensor, ids: [Int]) -> Tensor {
    Profiler.measure(.embedding) {
        let dim = table.shape[1]
        let out = Tensor(zeros: [ids.count, dim])
        for (row, id) in ids.enumerated() {
            (out.data + row * dim).update(from: table.data + id * dim, count: dim)
        }
        return out
    }
}
