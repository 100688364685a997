import Foundation
import GlimpseBase
import GlimpseImage

/// The loss curve a training run leaves in its output folder: loss against step as a PNG,
/// drawn with Glimpse's own raster primitives (a plotting library would pull a Python or
/// Cairo stack into a Swift command-line tool for one chart). The raw per-step loss is drawn
/// faint, an exponential moving average over it strong, so both the noise and the trend read.
public struct LossCurve: Sendable {
    public var width = 640
    public var height = 400
    public var title = "training loss"
    /// Plot area inside the axes: left, top, right, bottom margins in pixels.
    public var margins = (left: 64, top: 28, right: 16, bottom: 36)
    /// Weight of the newest value in the moving average.
    public var smoothing = 0.1

    public init() {}

    /// The value range and step range the axes span for these points.
    public struct Scale: Sendable {
        public var steps: ClosedRange<Double>
        public var values: ClosedRange<Double>
    }

    public func scale(for points: [(step: Int, value: Double)]) -> Scale {
        let steps = points.map { Double($0.step) }, values = points.map(\.value).filter(\.isFinite)
        let (s0, s1) = (steps.min() ?? 0, steps.max() ?? 1)
        var (v0, v1) = (values.min() ?? 0, values.max() ?? 1)
        if v1 - v0 < 1e-9 { (v0, v1) = (v0 - 0.5, v1 + 0.5) }
        let pad = (v1 - v0) * 0.05
        return Scale(steps: s0 ... max(s1, s0 + 1), values: (v0 - pad) ... (v1 + pad))
    }

    /// The pixel of (step, value) under `scale`.
    public func pixel(step: Double, value: Double, scale: Scale) -> (x: Int, y: Int) {
        let plotWidth = Double(width - margins.left - margins.right), plotHeight = Double(height - margins.top - margins.bottom)
        let u = (step - scale.steps.lowerBound) / (scale.steps.upperBound - scale.steps.lowerBound)
        let v = (value - scale.values.lowerBound) / (scale.values.upperBound - scale.values.lowerBound)
        return (margins.left + Int((u * plotWidth).rounded()), height - margins.bottom - Int((v * plotHeight).rounded()))
    }

    /// The chart of `points` (steps ascending; non-finite values skipped).
    public func render(_ points: [(step: Int, value: Double)]) throws -> RGBImage {
        guard width >= 160, height >= 120, width <= 8192, height <= 8192 else {
            throw GlimpseError.invalidArgument("loss curve: size \(width)x\(height) is outside 160x120...8192x8192")
        }
        let scale = scale(for: points)
        var image = RGBImage(width: width, height: height)
        image.fill(x0: 0, y0: 0, x1: width, y1: height, color: .white)
        let axis = RGBColor(40, 40, 40), grid = RGBColor(228, 228, 228)
        let (left, bottom) = (margins.left, height - margins.bottom)
        // Grid, ticks and labels: five divisions a side, labels with as many decimals as the
        // spacing needs to tell them apart, and each whole step labelled once.
        let spacing = (scale.values.upperBound - scale.values.lowerBound) / 4
        var labelledSteps = Set<Int>()
        for i in 0 ... 4 {
            let value = scale.values.lowerBound + Double(i) * spacing
            let y = pixel(step: scale.steps.lowerBound, value: value, scale: scale).y
            image.fill(x0: left, y0: y, x1: width - margins.right, y1: y + 1, color: grid)
            let label = Self.format(value, spacing: spacing)
            let size = RGBImage.textSize(label, scale: 1)
            image.drawText(label, x: left - 6 - size.width, y: y - size.height / 2, color: axis)
            let step = Int((scale.steps.lowerBound + Double(i) / 4 * (scale.steps.upperBound - scale.steps.lowerBound)).rounded())
            guard labelledSteps.insert(step).inserted else { continue }
            let x = pixel(step: Double(step), value: scale.values.lowerBound, scale: scale).x
            image.fill(x0: x, y0: bottom, x1: x + 1, y1: bottom + 4, color: axis)
            image.drawText(String(step), x: x - RGBImage.textSize(String(step), scale: 1).width / 2, y: bottom + 7, color: axis)
        }
        image.fill(x0: left, y0: margins.top, x1: left + 1, y1: bottom + 1, color: axis)
        image.fill(x0: left, y0: bottom, x1: width - margins.right, y1: bottom + 1, color: axis)
        image.drawText(title, x: left, y: 8, scale: width >= 400 ? 2 : 1, color: axis)
        image.drawText("step", x: width - margins.right - RGBImage.textSize("step", scale: 1).width, y: height - 12, color: axis)
        let finite = points.filter { $0.value.isFinite }
        polyline(finite.map { pixel(step: Double($0.step), value: $0.value, scale: scale) }, on: &image, color: RGBColor(170, 200, 230))
        var average: Double?
        let smoothed = finite.map { point -> (x: Int, y: Int) in
            let next = average.map { $0 + smoothing * (point.value - $0) } ?? point.value
            average = next
            return pixel(step: Double(point.step), value: next, scale: scale)
        }
        polyline(smoothed, on: &image, color: RGBColor(31, 119, 180), thickness: 2)
        return image
    }

    /// Renders and writes the chart as PNG.
    public func write(_ points: [(step: Int, value: Double)], to path: String) throws {
        try PNGEncoder.write(render(points), to: URL(fileURLWithPath: path))
    }

    /// Straight segments between consecutive pixels (Bresenham), `thickness` pixels square.
    private func polyline(_ pixels: [(x: Int, y: Int)], on image: inout RGBImage, color: RGBColor, thickness: Int = 1) {
        guard var previous = pixels.first else { return }
        for point in pixels.dropFirst().isEmpty ? [previous] : Array(pixels.dropFirst()) {
            var (x, y) = previous
            let (dx, dy) = (abs(point.x - x), -abs(point.y - y))
            let (sx, sy) = (x < point.x ? 1 : -1, y < point.y ? 1 : -1)
            var error = dx + dy
            while true {
                image.fill(x0: x, y0: y, x1: x + thickness, y1: y + thickness, color: color)
                if x == point.x && y == point.y { break }
                let e2 = 2 * error
                if e2 >= dy { error += dy; x += sx }
                if e2 <= dx { error += dx; y += sy }
            }
            previous = point
        }
    }

    /// An axis label: enough decimals to tell labels `spacing` apart, no exponent for ordinary losses.
    static func format(_ value: Double, spacing: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 100_000 || (magnitude < 1e-4 && magnitude > 0) { return String(format: "%.2e", value) }
        let decimals = spacing > 0 ? max(0, min(6, Int((-log10(spacing)).rounded(.up)) + 1)) : 2
        return String(format: "%.\(decimals)f", value)
    }
}
