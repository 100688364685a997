import Foundation
import GlimpseBase
import GlimpseCore
import GlimpseImage

/// A synthetic image–caption set whose captions are fully determined by the pictures: one
/// coloured shape on a plain background, captioned "a red circle", "a blue square", ….
/// A model that learns it must tie colour words and shape words to what it sees, so it is a
/// test of training that can fail — zero-shot accuracy on held-out images starts at chance
/// and rises only if the contrastive (or captioning) objective really trains both towers —
/// and it is small enough to learn in seconds. Every image is a pure function of (seed,
/// index): the same set on every machine, with nothing downloaded or committed.
public struct SyntheticShapes: Sendable {
    public enum Shape: String, CaseIterable, Sendable { case circle, square, triangle }

    /// The colours the shapes are drawn in, by name.
    public static let colors: [(name: String, rgb: RGBColor)] = [
        ("red", RGBColor(220, 30, 30)), ("green", RGBColor(30, 170, 40)), ("blue", RGBColor(30, 60, 220)),
        ("yellow", RGBColor(235, 205, 20)),
    ]

    /// Backgrounds: greys and pale tints, none close to a shape colour.
    static let backgrounds: [RGBColor] = [
        RGBColor(245, 245, 245), RGBColor(200, 200, 200), RGBColor(120, 120, 120), RGBColor(60, 60, 60),
        RGBColor(230, 220, 245), RGBColor(215, 240, 240),
    ]

    /// One picture and what it shows.
    public struct Sample: Sendable {
        public var image: RGBImage
        public var color: String
        public var shape: Shape
        /// "a red circle".
        public var caption: String { "a \(color) \(shape.rawValue)" }
    }

    public let side: Int
    public let seed: UInt64

    public init(side: Int = 32, seed: UInt64 = 0) throws {
        guard side >= 8, side <= Limits.preprocessedSide else {
            throw GlimpseError.invalidArgument("synthetic shapes: side must be in 8...\(Limits.preprocessedSide), got \(side)")
        }
        self.side = side
        self.seed = seed
    }

    /// Every caption the set can produce, in a fixed order: the labels of zero-shot evaluation.
    public static var captions: [String] {
        colors.flatMap { color in Shape.allCases.map { "a \(color.name) \($0.rawValue)" } }
    }

    /// The `index`-th sample: class, background, size and position drawn from a generator
    /// seeded by (seed, index), so samples can be made in any order, in parallel, or again.
    public func sample(_ index: Int) -> Sample {
        var g = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: index))
        _ = g.next()
        let color = Self.colors[Int(g.next() % UInt64(Self.colors.count))]
        let shape = Shape.allCases[Int(g.next() % UInt64(Shape.allCases.count))]
        let background = Self.backgrounds[Int(g.next() % UInt64(Self.backgrounds.count))]
        let size = Int(Double(side) * (0.4 + 0.35 * Double(g.next() % 1000) / 1000))
        let x0 = Int(g.next() % UInt64(side - size + 1)), y0 = Int(g.next() % UInt64(side - size + 1))
        var image = RGBImage(width: side, height: side)
        image.fill(x0: 0, y0: 0, x1: side, y1: side, color: background)
        draw(shape, on: &image, x0: x0, y0: y0, size: size, color: color.rgb)
        return Sample(image: image, color: color.name, shape: shape)
    }

    /// Fills the pixels whose centres lie inside the shape in its size × size box.
    private func draw(_ shape: Shape, on image: inout RGBImage, x0: Int, y0: Int, size: Int, color: RGBColor) {
        let s = Double(size)
        for y in y0 ..< y0 + size {
            for x in x0 ..< x0 + size {
                let u = (Double(x - x0) + 0.5) / s, v = (Double(y - y0) + 0.5) / s
                let inside: Bool
                switch shape {
                case .square: inside = true
                case .circle: inside = (u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5) <= 0.25
                case .triangle: inside = abs(u - 0.5) <= v / 2  // apex at the top centre, base at the bottom
                }
                if inside { image.fill(x0: x, y0: y, x1: x + 1, y1: y + 1, color: color) }
            }
        }
    }

    /// Writes samples `range` as PNG files and a JSON Lines manifest (`{"image", "text"}` a line,
    /// image paths relative to the manifest, the layout every Glimpse dataset reader takes) into
    /// `folder`, which is created. Returns the manifest's path.
    @discardableResult
    public func write(_ range: Range<Int>, to folder: String, manifest: String = "manifest.jsonl") throws -> String {
        guard range.lowerBound >= 0, range.count <= Limits.syntheticSamples else {
            throw GlimpseError.invalidArgument("synthetic shapes: \(range) is not within 0..<\(Limits.syntheticSamples) samples")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lines = ""
        for index in range {
            let sample = sample(index)
            let name = String(format: "shape-%06d.png", index)
            try PNGEncoder.write(sample.image, to: URL(fileURLWithPath: folder).appendingPathComponent(name))
            let object = ["image": name, "text": sample.caption]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines += String(decoding: data, as: UTF8.self) + "\n"
        }
        let path = (folder as NSString).appendingPathComponent(manifest)
        try Data(lines.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }
}
