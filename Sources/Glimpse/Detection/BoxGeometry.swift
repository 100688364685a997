/// An axis-aligned box by its corners (x1, y1) top-left and (x2, y2) bottom-right, in
/// whatever unit its producer states (normalised or pixels).
public struct BoundingBox: Sendable, Equatable {
    public var x1, y1, x2, y2: Float

    public init(x1: Float, y1: Float, x2: Float, y2: Float) {
        (self.x1, self.y1, self.x2, self.y2) = (x1, y1, x2, y2)
    }

    /// From centre and size, as the reference's `center_to_corners_format`.
    public init(cx: Float, cy: Float, w: Float, h: Float) {
        self.init(x1: cx - 0.5 * w, y1: cy - 0.5 * h, x2: cx + 0.5 * w, y2: cy + 0.5 * h)
    }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
    public var area: Float { (x2 - x1) * (y2 - y1) }
    public var corners: [Float] { [x1, y1, x2, y2] }

    /// This box with x scaled by `sx` and y by `sy`.
    public func scaled(x sx: Float, y sy: Float) -> BoundingBox {
        BoundingBox(x1: x1 * sx, y1: y1 * sy, x2: x2 * sx, y2: y2 * sy)
    }

    /// Intersection over union (NaN for two empty boxes, as the reference's `box_iou`).
    public func iou(_ other: BoundingBox) -> Float {
        let (inter, union) = intersectionAndUnion(other)
        return inter / union
    }

    /// Generalised IoU (Rezatofighi et al. 2019): IoU minus the share of the enclosing box
    /// that neither covers; the reference falls back to it when no box overlaps.
    public func generalizedIoU(_ other: BoundingBox) -> Float {
        let (inter, union) = intersectionAndUnion(other)
        let ew = max(max(x2, other.x2) - min(x1, other.x1), 0), eh = max(max(y2, other.y2) - min(y1, other.y1), 0)
        let enclosing = ew * eh
        return inter / union - (enclosing - union) / enclosing
    }

    private func intersectionAndUnion(_ other: BoundingBox) -> (Float, Float) {
        let w = max(min(x2, other.x2) - max(x1, other.x1), 0)
        let h = max(min(y2, other.y2) - max(y1, other.y1), 0)
        let inter = w * h
        return (inter, area + other.area - inter)
    }
}

/// One detected object. `box` is in pixels of the original image.
public struct Detection: Sendable, Equatable {
    /// The query's text, or the query image's name.
    public var label: String
    /// Index of the query in its query set.
    public var query: Int
    public var score: Float
    public var box: BoundingBox
    /// The patch (row-major grid index) that predicted it.
    public var patch: Int

    public init(label: String, query: Int, score: Float, box: BoundingBox, patch: Int) {
        (self.label, self.query, self.score, self.box, self.patch) = (label, query, score, box, patch)
    }
}
