import Foundation
import GlimpseCore

/// transformers' OWL-ViT post-processing on one image's raw outputs: logits [patches, queries]
/// and boxes [patches, 4] (cx, cy, w, h normalised to the network input).
///
/// Box coordinates: OWL-ViT's processor squashes every image to the square input, so a
/// normalised x maps to the original width and y to the original height independently —
/// the reference's `target_sizes = (height, width)`. (Scaling both by the longer side, the
/// fix people reach for in transformers issue 18553, is right only for OWLv2, whose
/// processor pads to a square instead; `scaleX`/`scaleY` leave room for that.)
/// Detections come in patch order, as the reference returns them.
public enum OwlViTPostprocessing {
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// `post_process_object_detection`: per patch the best query, its sigmoid as the score,
    /// kept when strictly above `threshold`.
    public static func textDetections(logits: Tensor, boxes: Tensor, labels: [String], threshold: Float,
                                      scaleX: Float, scaleY: Float) -> [Detection] {
        let (patches, queries) = (logits.shape[0], logits.shape[1])
        guard queries > 0 else { return [] }
        var out: [Detection] = []
        for p in 0..<patches {
            var best = 0
            for q in 1..<queries where logits[p, q] > logits[p, best] { best = q }
            let score = sigmoid(logits[p, best])
            guard score > threshold else { continue }
            let box = BoundingBox(cx: boxes[p, 0], cy: boxes[p, 1], w: boxes[p, 2], h: boxes[p, 3]).scaled(x: scaleX, y: scaleY)
            out.append(Detection(label: best < labels.count ? labels[best] : "\(best)", query: best, score: score, box: box, patch: p))
        }
        return out
    }

    /// `post_process_image_guided_detection`: best query per patch, sigmoid, greedy NMS over
    /// all boxes (skipped when `nms >= 1`), scores under `threshold` zeroed, then scores
    /// rescaled so the best box gets 1 and boxes under a tenth of the best are dropped:
    /// the reported score is that rescaled value, as in the reference.
    public static func imageGuidedDetections(logits: Tensor, boxes: Tensor, labels: [String], threshold: Float,
                                             nms: Float, scaleX: Float, scaleY: Float) -> [Detection] {
        let (patches, queries) = (logits.shape[0], logits.shape[1])
        guard queries > 0 else { return [] }
        var scores = [Float](repeating: 0, count: patches), best = [Int](repeating: 0, count: patches)
        var corners: [BoundingBox] = []
        for p in 0..<patches {
            for q in 1..<queries where logits[p, q] > logits[p, best[p]] { best[p] = q }
            scores[p] = sigmoid(logits[p, best[p]])
            corners.append(BoundingBox(cx: boxes[p, 0], cy: boxes[p, 1], w: boxes[p, 2], h: boxes[p, 3]))
        }
        if nms < 1 {
            let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            for i in order where scores[i] != 0 {
                for j in 0..<patches where j != i && corners[i].iou(corners[j]) > nms { scores[j] = 0 }
            }
        }
        guard scores.contains(where: { $0 != 0 }) else { return [] }
        for p in 0..<patches where scores[p] < threshold { scores[p] = 0 }
        let top = (scores.max() ?? 0) + 1e-6
        var out: [Detection] = []
        for p in 0..<patches {
            let alpha = min(max((scores[p] - top * 0.1) / (top * 0.9), 0), 1)
            guard alpha > 0 else { continue }
            let q = best[p]
            out.append(Detection(label: q < labels.count ? labels[q] : "\(q)", query: q, score: alpha,
                                 box: corners[p].scaled(x: scaleX, y: scaleY), patch: p))
        }
        return out
    }

    /// `embed_image_query`'s choice of the query embedding in a query image: among the boxes
    /// whose IoU with the whole image is at least 0.8 × the best (generalised IoU when no box
    /// overlaps), the one whose class embedding is least similar to the image's mean
    /// embedding — the most distinctive object. Returns its patch index, or nil when no box
    /// qualifies (the reference then drops the query).
    public static func imageQueryIndex(classEmbeddings: Tensor, boxes: Tensor) -> Int? {
        let (patches, dim) = (classEmbeddings.shape[0], classEmbeddings.shape[1])
        let whole = BoundingBox(x1: 0, y1: 0, x2: 1, y2: 1)
        let candidates = (0..<patches).map { BoundingBox(cx: boxes[$0, 0], cy: boxes[$0, 1], w: boxes[$0, 2], h: boxes[$0, 3]) }
        var ious = candidates.map { whole.iou($0) }
        if ious.allSatisfy({ $0 == 0 }) { ious = candidates.map { whole.generalizedIoU($0) } }
        guard let maxIoU = ious.max() else { return nil }
        let cut = maxIoU * 0.8
        let e = classEmbeddings.data
        var mean = [Float](repeating: 0, count: dim)
        for p in 0..<patches { for c in 0..<dim { mean[c] += e[p * dim + c] } }
        for c in 0..<dim { mean[c] /= Float(patches) }
        var chosen: Int?, lowest = Float.infinity
        for p in 0..<patches where ious[p] >= cut {
            var similarity: Float = 0
            for c in 0..<dim { similarity += mean[c] * e[p * dim + c] }
            if chosen == nil || similarity < lowest { (chosen, lowest) = (p, similarity) }
        }
        return chosen
    }
}
