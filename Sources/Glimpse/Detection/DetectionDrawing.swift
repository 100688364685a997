import GlimpseImage

/// Renders detections on a copy of their image: one colour per query, 2–3 px outlines, and
/// "label 0.87" on a filled tag, sized to stay readable from thumbnails to large photos.
public enum DetectionDrawing {
    public static func draw(_ detections: [Detection], on image: RGBImage, showScores: Bool = true) -> RGBImage {
        var out = image
        let side = min(image.width, image.height)
        let thickness = side >= 600 ? 3 : 2
        let scale = side >= 300 ? 2 : 1
        // Highest scores last, so the most confident boxes are drawn on top.
        for d in detections.sorted(by: { $0.score < $1.score }) {
            let color = RGBColor.palette[d.query % RGBColor.palette.count]
            let text = showScores ? "\(d.label) \(formatScore(d.score))" : d.label
            out.drawLabelledBox(x0: pixel(d.box.x1), y0: pixel(d.box.y1), x1: pixel(d.box.x2) - 1, y1: pixel(d.box.y2) - 1,
                                label: text, color: color, thickness: thickness, textScale: scale)
        }
        return out
    }

    static func formatScore(_ score: Float) -> String {
        let hundredths = Int((min(max(score, 0), 1) * 100).rounded())
        return hundredths == 100 ? "1.00" : "0." + (hundredths < 10 ? "0" : "") + String(hundredths)
    }

    /// Rounds a pixel coordinate, clamping wild predictions so Int conversion cannot trap.
    static func pixel(_ v: Float) -> Int {
        guard v.isFinite else { return 0 }
        return Int(min(max(v, -1e6), 1e6).rounded())
    }
}
