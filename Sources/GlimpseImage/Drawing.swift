/// Drawing primitives on `RGBImage` for annotating results: filled rectangles, outlined
/// boxes and bitmap text. Everything is clipped to the image, so coordinates may fall
/// outside it (predicted boxes often do).
public struct RGBColor: Sendable, Equatable {
    public var r, g, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }

    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
    /// Distinct, saturated colours (Tableau 10) for one class each.
    public static let palette: [RGBColor] = [
        RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40),
        RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(127, 127, 127),
        RGBColor(188, 189, 34), RGBColor(23, 190, 207),
    ]

    /// Black or white, whichever reads better on this colour (Rec. 601 luma).
    public var contrasting: RGBColor {
        299 * Int(r) + 587 * Int(g) + 114 * Int(b) > 150_000 ? .black : .white
    }
}

extension RGBImage {
    public func pixel(x: Int, y: Int) -> RGBColor {
        let i = (y * width + x) * 3
        return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Fills pixels x0..<x1, y0..<y1.
    public mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, color: RGBColor) {
        let (left, right) = (max(x0, 0), min(x1, width)), (top, bottom) = (max(y0, 0), min(y1, height))
        guard left < right, top < bottom else { return }
        pixels.withUnsafeMutableBufferPointer { px in
            for y in top..<bottom {
                for x in left..<right {
                    let i = (y * width + x) * 3
                    (px[i], px[i + 1], px[i + 2]) = (color.r, color.g, color.b)
                }
            }
        }
    }

    /// The outline of the box with corners (x0, y0) and (x1, y1) (inclusive), `thickness`
    /// pixels wide, drawn inwards.
    public mutating func strokeRectangle(x0: Int, y0: Int, x1: Int, y1: Int, thickness: Int, color: RGBColor) {
        let t = max(thickness, 1)
        fill(x0: x0, y0: y0, x1: x1 + 1, y1: y0 + t, color: color)
        fill(x0: x0, y0: y1 - t + 1, x1: x1 + 1, y1: y1 + 1, color: color)
        fill(x0: x0, y0: y0, x1: x0 + t, y1: y1 + 1, color: color)
        fill(x0: x1 - t + 1, y0: y0, x1: x1 + 1, y1: y1 + 1, color: color)
    }

    /// Size in pixels of `text` drawn at `scale`.
    public static func textSize(_ text: String, scale: Int) -> (width: Int, height: Int) {
        let n = text.unicodeScalars.count
        return (n == 0 ? 0 : (n * BitmapFont.advance - 1) * scale, BitmapFont.glyphHeight * scale)
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel a `scale`² square.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBColor) {
        let s = max(scale, 1)
        for (k, scalar) in text.unicodeScalars.enumerated() {
            let left = x + k * BitmapFont.advance * s
            for (row, bits) in BitmapFont.rows(scalar).enumerated() {
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    fill(x0: left + col * s, y0: y + row * s, x1: left + (col + 1) * s, y1: y + (row + 1) * s, color: color)
                }
            }
        }
    }

    /// A box outline with `label` on a filled tag of the same colour: above the box's
    /// top-left corner, or just inside it when there is no room above.
    public mutating func drawLabelledBox(x0: Int, y0: Int, x1: Int, y1: Int, label: String, color: RGBColor,
                                         thickness: Int = 2, textScale: Int = 1) {
        strokeRectangle(x0: x0, y0: y0, x1: x1, y1: y1, thickness: thickness, color: color)
        guard !label.isEmpty else { return }
        let (tw, th) = Self.textSize(label, scale: textScale)
        let pad = max(textScale, 1) * 2
        let tagHeight = th + 2 * pad
        let top = y0 - tagHeight >= 0 ? y0 - tagHeight : max(y0, 0)
        let left = min(max(x0, 0), max(width - tw - 2 * pad, 0))
        fill(x0: left, y0: top, x1: left + tw + 2 * pad, y1: top + tagHeight, color: color)
        drawText(label, x: left + pad, y: top + pad, scale: textScale, color: color.contrasting)
    }
}
