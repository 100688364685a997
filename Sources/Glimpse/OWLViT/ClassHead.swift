import Foundation
import GlimpseCore

/// OWL-ViT's class head (Minderer et al. 2022, §3.1): each patch token is projected into the
/// query space and compared with the query embeddings by cosine similarity; a per-patch
/// learned shift and scale (`elu + 1`, so always positive) turn similarities into logits.
/// Text and image queries go through the same head, which is what makes one-shot
/// detection with image queries possible.
public struct ClassHead: Sendable {
    let dense0, logitShift, logitScale: Linear
    /// Logit of a masked query: the reference's `finfo(float32).min`.
    public static let maskedLogit = -Float.greatestFiniteMagnitude

    public init(_ store: WeightStore, _ prefix: String, visionWidth: Int, queryWidth: Int) throws {
        dense0 = try Linear(store, "\(prefix).dense0", in: visionWidth, out: queryWidth, exact: true)
        logitShift = try Linear(store, "\(prefix).logit_shift", in: visionWidth, out: 1, exact: true)
        logitScale = try Linear(store, "\(prefix).logit_scale", in: visionWidth, out: 1, exact: true)
    }

    /// Unnormalised class embeddings [rows, queryWidth] (what the reference returns as
    /// `class_embeds` when no queries are given, and picks image queries from).
    public func embeddings(_ features: Tensor) -> Tensor { dense0(features) }

    /// x / (‖x‖ + 1e-6) per row, the reference's normalisation on both sides of the head.
    public static func normalized(_ x: Tensor) -> Tensor {
        let out = x.copy()
        let cols = x.shape[x.rank - 1]
        out.withUnsafeMutableBufferPointer { values in
            for r in 0 ..< values.count / cols {
                let row = values[r * cols ..< (r + 1) * cols]
                var sum: Float = 0
                for v in row { sum += v * v }
                let scale = 1 / (sum.squareRoot() + 1e-6)
                for c in row.indices { values[c] *= scale }
            }
        }
        return out
    }

    /// Logits [rows, queries] for one image's feature rows [rows, width] against queries
    /// [queries, queryWidth]; also returns the normalised class embeddings. `mask[q] == false`
    /// gives query q `maskedLogit` everywhere.
    public func logits(features: Tensor, queries: Tensor, mask: [Bool]? = nil) -> (logits: Tensor, classEmbeddings: Tensor) {
        let classEmbeddings = Self.normalized(embeddings(features))
        let logits = matmulTransposed(classEmbeddings, Self.normalized(queries))
        let shift = logitShift(features).scalars, scale = logitScale(features).scalars   // one per row
        let q = logits.shape[1]
        logits.withUnsafeMutableBufferPointer { values in
            for r in 0 ..< logits.shape[0] {
                let s = scale[r]
                let factor = s > 0 ? s + 1 : Foundation.expm1(s) + 1  // elu(s) + 1
                for j in 0 ..< q {
                    let i = r * q + j
                    values[i] = mask.map { $0[j] } ?? true ? (values[i] + shift[r]) * factor : Self.maskedLogit
                }
            }
        }
        return (logits, classEmbeddings)
    }
}
