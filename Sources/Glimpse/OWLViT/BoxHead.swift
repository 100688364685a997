import Foundation
import GlimpseCore

/// OWL-ViT's box head (Minderer et al. 2022, §3.1): a 3-layer MLP on each patch token
/// predicts box logits (cx, cy, w, h); a fixed bias puts every box on its own patch before
/// the sigmoid, so the MLP only learns offsets. Boxes are normalised to [0, 1] of the
/// network's square input.
public struct BoxHead: Sendable {
    let dense0, dense1, dense2: Linear
    /// [patches · 4], row-major over the grid.
    public let bias: [Float]

    public init(_ store: WeightStore, _ prefix: String, width: Int, gridHeight: Int, gridWidth: Int) throws {
        dense0 = try Linear(store, "\(prefix).dense0", in: width, out: width, exact: true)
        dense1 = try Linear(store, "\(prefix).dense1", in: width, out: width, exact: true)
        dense2 = try Linear(store, "\(prefix).dense2", in: width, out: 4, exact: true)
        bias = Self.boxBias(gridHeight: gridHeight, gridWidth: gridWidth)
    }

    /// The reference's `compute_box_bias`: logit of each patch's bottom-right grid corner
    /// (x = (col+1)/w, y = (row+1)/h) for the centre, logit of one patch for the size,
    /// with the same 1e-4 guards, in fp32.
    public static func boxBias(gridHeight: Int, gridWidth: Int) -> [Float] {
        func logit(_ v: Float) -> Float {
            let x = min(max(v, 0), 1)
            return Foundation.log(x + 1e-4) - Foundation.log1p(-x + 1e-4)
        }
        let w = logit(1 / Float(gridWidth)), h = logit(1 / Float(gridHeight))
        var out: [Float] = []
        out.reserveCapacity(gridHeight * gridWidth * 4)
        for row in 0..<gridHeight {
            for col in 0..<gridWidth {
                out += [logit(Float(col + 1) / Float(gridWidth)), logit(Float(row + 1) / Float(gridHeight)), w, h]
            }
        }
        return out
    }

    /// Boxes [rows, 4] (cx, cy, w, h in [0, 1]) for feature rows [images · patches, width].
    public func callAsFunction(_ features: Tensor) -> Tensor {
        let hidden0 = dense0(features)
        activateInPlace(hidden0, .gelu)
        let hidden1 = dense1(hidden0)
        activateInPlace(hidden1, .gelu)
        let boxes = dense2(hidden1)
        let n = bias.count
        boxes.withUnsafeMutableBufferPointer { out in
            for i in 0 ..< out.count {
                out[i] = 1 / (1 + Foundation.exp(-(out[i] + bias[i % n])))
            }
        }
        return boxes
    }
}
