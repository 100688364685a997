import GlimpseCore

/// A convolution followed by inference-mode batch norm, folded into one convolution with a bias
/// when loaded (`conv.weight` plus `bn.weight/bias/running_mean/running_var`, eps 1e-5).
func convBatchNorm(_ store: WeightStore, conv: String, norm: String, in inChannels: Int, out outChannels: Int,
                   kernel: Int, stride: Int = 1, padding: Int = 0) throws -> Conv2d {
    let shape = [outChannels]
    let (weight, bias) = foldBatchNorm(
        convWeight: try store.tensor("\(conv).weight", shape: [outChannels, inChannels, kernel, kernel]),
        gamma: try store.tensor("\(norm).weight", shape: shape), beta: try store.tensor("\(norm).bias", shape: shape),
        runningMean: try store.tensor("\(norm).running_mean", shape: shape),
        runningVar: try store.tensor("\(norm).running_var", shape: shape), eps: 1e-5)
    return Conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
}

/// The CLIP paper's bottleneck block (§2.4): 1×1 → 3×3 → 1×1 convolutions with ReLU, and
/// anti-aliased downsampling — a stride-s average pool *before* the last convolution and
/// before the 1×1 projection of the shortcut, instead of strided convolutions.
struct Bottleneck: Sendable {
    let conv1, conv2, conv3: Conv2d
    let downsample: Conv2d?
    let stride: Int

    init(_ store: WeightStore, _ prefix: String, inplanes: Int, planes: Int, stride: Int) throws {
        conv1 = try convBatchNorm(store, conv: "\(prefix).conv1", norm: "\(prefix).bn1", in: inplanes, out: planes, kernel: 1)
        conv2 = try convBatchNorm(store, conv: "\(prefix).conv2", norm: "\(prefix).bn2", in: planes, out: planes, kernel: 3, padding: 1)
        conv3 = try convBatchNorm(store, conv: "\(prefix).conv3", norm: "\(prefix).bn3", in: planes, out: planes * 4, kernel: 1)
        downsample = stride > 1 || inplanes != planes * 4
            ? try convBatchNorm(store, conv: "\(prefix).downsample.0", norm: "\(prefix).downsample.1", in: inplanes, out: planes * 4, kernel: 1)
            : nil
        self.stride = stride
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden = conv1(x)
        activateInPlace(hidden, .relu)
        var inner = conv2(hidden)
        activateInPlace(inner, .relu)
        if stride > 1 { inner = avgPool2d(inner, kernel: stride) }
        let out = conv3(inner)
        if let downsample {
            addInPlace(out, downsample(stride > 1 ? avgPool2d(x, kernel: stride) : x))
        } else {
            addInPlace(out, x)
        }
        activateInPlace(out, .relu)
        return out
    }
}

/// Attention pooling: the mean of the feature grid, prepended to the grid as a query token,
/// attends (multi-head, with position embeddings) over itself and the grid; its output,
/// projected by `c_proj`, is the image embedding.
struct AttentionPool2d: Sendable {
    let positionEmbedding: Tensor   // [grid² + 1, dim]
    let q, k, v, c: Linear
    let heads: Int

    init(_ store: WeightStore, _ prefix: String, grid: Int, dim: Int, heads: Int, outputDim: Int) throws {
        positionEmbedding = try store.tensor("\(prefix).positional_embedding", shape: [grid * grid + 1, dim])
        q = try Linear(store, "\(prefix).q_proj", in: dim, out: dim)
        k = try Linear(store, "\(prefix).k_proj", in: dim, out: dim)
        v = try Linear(store, "\(prefix).v_proj", in: dim, out: dim)
        c = try Linear(store, "\(prefix).c_proj", in: dim, out: outputDim)
        self.heads = heads
    }

    /// Features [B, dim, g, g] → [B, outputDim].
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (batch, dim, cells) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        let n = cells + 1
        let tokens = Tensor(zeros: [batch * n, dim])
        // Image b's rows: the grid's mean, then each cell's channels (the grid transposed).
        tokens.withUnsafeMutableBufferPointer { rows in
            x.withUnsafeBufferPointer { grid in
                for b in 0..<batch {
                    let image = b * dim * cells, first = b * n * dim
                    for ch in 0..<dim {
                        var sum: Float = 0
                        for i in 0..<cells {
                            let value = grid[image + ch * cells + i]
                            rows[first + (i + 1) * dim + ch] = value
                            sum += value
                        }
                        rows[first + ch] = sum / Float(cells)
                    }
                }
            }
        }
        for b in 0..<batch { addInPlace(tokens.rows(b * n ..< (b + 1) * n), positionEmbedding) }
        let queries = tokens.gatherRows((0..<batch).map { $0 * n })
        let pooled = attention(query: q(queries), key: k(tokens), value: v(tokens), heads: heads,
                               querySequences: (0..<batch).map { $0 ..< $0 + 1 },
                               keySequences: (0..<batch).map { $0 * n ..< ($0 + 1) * n }, causal: false)
        return c(pooled)
    }
}

/// The modified ResNet image tower of CLIP (Radford et al. 2021, §2.4; RN50, RN101, RN50x4,
/// RN50x16, RN50x64): a three-convolution stem with an average pool instead of a max pool,
/// four stages of anti-aliased bottleneck blocks, and attention pooling instead of global
/// average pooling. Batch norm is folded into the convolutions at load (inference only).
public struct ModifiedResNet: CLIPImageEncoder {
    public let config: ModifiedResNetConfig
    let stem: [Conv2d]
    let stages: [[Bottleneck]]
    let pool: AttentionPool2d

    public init(_ store: WeightStore, prefix: String, config: ModifiedResNetConfig) throws {
        self.config = config
        let w = config.width
        stem = [
            try convBatchNorm(store, conv: "\(prefix).conv1", norm: "\(prefix).bn1", in: 3, out: w / 2, kernel: 3, stride: 2, padding: 1),
            try convBatchNorm(store, conv: "\(prefix).conv2", norm: "\(prefix).bn2", in: w / 2, out: w / 2, kernel: 3, padding: 1),
            try convBatchNorm(store, conv: "\(prefix).conv3", norm: "\(prefix).bn3", in: w / 2, out: w, kernel: 3, padding: 1),
        ]
        var inplanes = w
        var stages: [[Bottleneck]] = []
        for (i, blocks) in config.layers.enumerated() {
            let planes = w << i
            stages.append(try (0..<blocks).map { j in
                defer { inplanes = planes * 4 }
                return try Bottleneck(store, "\(prefix).layer\(i + 1).\(j)", inplanes: inplanes, planes: planes,
                                      stride: i > 0 && j == 0 ? 2 : 1)
            })
        }
        self.stages = stages
        pool = try AttentionPool2d(store, "\(prefix).attnpool", grid: config.gridSize, dim: config.featureDim,
                                   heads: config.heads, outputDim: config.outputDim)
    }

    public var imageSize: Int { config.imageSize }
    public var channels: Int { 3 }

    /// The feature grid [B, 32·width, S/32, S/32] before attention pooling.
    public func featureMap(_ pixels: Tensor) throws -> Tensor {
        let size = config.imageSize
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == size, pixels.shape[3] == size else {
            throw GlimpseError.invalidArgument("pixel values have shape \(pixels.shape); this model takes [batch, 3, \(size), \(size)]")
        }
        var x = pixels
        for conv in stem {
            x = conv(x)
            activateInPlace(x, .relu)
        }
        x = avgPool2d(x, kernel: 2)
        for stage in stages { for block in stage { x = block(x) } }
        return x
    }

    public func features(_ pixels: Tensor) throws -> Tensor {
        let grid = try featureMap(pixels)
        let positions = grid.shape[2] * grid.shape[3] + 1
        guard positions == pool.positionEmbedding.shape[0] else {
            throw GlimpseError.invalidConfig("image_size \(config.imageSize) gives a \(grid.shape[2])×\(grid.shape[3]) feature grid, but attnpool.positional_embedding has \(pool.positionEmbedding.shape[0]) positions")
        }
        return pool(grid)
    }
}
