import Foundation

/// 2-D convolution for images [B, C, H, W] as im2col + one GEMM per image: the columns
/// matrix [C·k·k, Ho·Wo] holds, for each output position, the input patch it sees (zeros
/// where the kernel hangs over the padding), so the convolution is the kernel seen as
/// [O, C·k·k] times that matrix, written straight into the NCHW output. A 1×1 stride-1
/// convolution needs no columns at all: the image is already that matrix.
public struct Conv2d: Sendable {
    /// [outChannels, inChannels · kernel · kernel].
    public let weight: Tensor
    public let bias: Tensor?
    public let inChannels, outChannels, kernel, stride, padding: Int

    /// `weight` [O, C, k, k] as PyTorch stores it.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3], "Conv2d: weight \(weight.shape) is not [O, C, k, k]")
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        kernel = weight.shape[2]
        self.weight = weight.reshaped([outChannels, inChannels * kernel * kernel])
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels, "Conv2d: input \(x.shape) for \(inChannels) channels")
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let (oh, ow) = (outputSize(height), outputSize(width))
        let positions = oh * ow, depth = inChannels * kernel * kernel
        let y = Tensor(zeros: [batch, outChannels, oh, ow])
        let direct = kernel == 1 && stride == 1 && padding == 0
        let columns = direct ? nil : Tensor(zeros: [depth, positions])
        for b in 0..<batch {
            let image = x.data + b * inChannels * height * width
            let out = y.data + b * outChannels * positions
            if let bias {
                for o in 0..<outChannels { (out + o * positions).update(repeating: bias.data[o], count: positions) }
            }
            var source = UnsafePointer(image)
            if let columns {
                im2col(image, height: height, width: width, into: columns.data, oh: oh, ow: ow)
                source = UnsafePointer(columns.data)
            }
            BLAS.gemm(m: outChannels, n: positions, k: depth, a: weight.data, lda: depth, b: source, ldb: positions,
                      beta: bias == nil ? 0 : 1, c: out, ldc: positions)
        }
        return y
    }

    /// Row (c, ky, kx) of the columns: input channel c shifted by the kernel offset, sampled
    /// at the output grid, zero outside the image.
    private func im2col(_ image: UnsafeMutablePointer<Float>, height: Int, width: Int,
                        into columns: UnsafeMutablePointer<Float>, oh: Int, ow: Int) {
        let (k, s, p) = (kernel, stride, padding)
        Parallel.forEach(inChannels * k * k, grain: 4) { range in
            for row in range {
                let c = row / (k * k), ky = row / k % k, kx = row % k
                let plane = image + c * height * width
                let dst = columns + row * oh * ow
                for oy in 0..<oh {
                    let iy = oy * s + ky - p
                    let line = dst + oy * ow
                    guard iy >= 0 && iy < height else { line.update(repeating: 0, count: ow); continue }
                    let src = plane + iy * width
                    for ox in 0..<ow {
                        let ix = ox * s + kx - p
                        line[ox] = ix >= 0 && ix < width ? src[ix] : 0
                    }
                }
            }
        }
    }
}

/// Inference-time batch normalisation folded into the preceding bias-free convolution:
/// BN(conv(x)) = conv(x)·γ/√(σ²+ε) + (β − μ·γ/√(σ²+ε)), so the per-channel scale goes into
/// the kernel and the shift becomes its bias. Returns (weight [O, C, k, k], bias [O]).
public func foldBatchNorm(convWeight: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor,
                          runningVar: Tensor, eps: Float) -> (weight: Tensor, bias: Tensor) {
    let out = convWeight.shape[0], perChannel = convWeight.count / out
    let weight = Tensor(zeros: convWeight.shape), bias = Tensor(zeros: [out])
    for o in 0..<out {
        let scale = gamma.data[o] / (runningVar.data[o] + eps).squareRoot()
        for i in 0..<perChannel { weight.data[o * perChannel + i] = convWeight.data[o * perChannel + i] * scale }
        bias.data[o] = beta.data[o] - runningMean.data[o] * scale
    }
    return (weight, bias)
}

/// Average pooling [B, C, H, W] → [B, C, H/k, W/k] with kernel = stride = k and no padding
/// (PyTorch `AvgPool2d(k)`: trailing rows and columns that do not fill a window are dropped).
public func avgPool2d(_ x: Tensor, kernel k: Int) -> Tensor {
    precondition(x.rank == 4 && k >= 1, "avgPool2d: input \(x.shape), kernel \(k)")
    let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = (height / k, width / k)
    let y = Tensor(zeros: [x.shape[0], x.shape[1], oh, ow])
    let divisor = Float(k * k)
    Parallel.forEach(planes, grain: 8) { range in
        for plane in range {
            let src = x.data + plane * height * width, dst = y.data + plane * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum: Float = 0
                    for dy in 0..<k { for dx in 0..<k { sum += src[(oy * k + dy) * width + ox * k + dx] } }
                    dst[oy * ow + ox] = sum / divisor
                }
            }
        }
    }
    return y
}
