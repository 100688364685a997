import Foundation

/// torchvision's `RandomResizedCrop` region choice (the augmentation CLIP-style training uses):
/// a crop covering a random share `scale` of the image's area, with a random aspect ratio
/// (log-uniform in `ratio`), at a random position; after 10 failed draws, the largest centred
/// crop whose aspect ratio lies in `ratio`. The crop is then given to the model's own
/// preprocessor (resize of the shorter side, centre crop), which keeps its aspect ratio where
/// torchvision would stretch it to a square.
public struct RandomResizedCrop: Sendable, Equatable {
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>

    public init(scale: ClosedRange<Double> = 0.08 ... 1, ratio: ClosedRange<Double> = 0.75 ... (4.0 / 3.0)) {
        self.scale = scale
        self.ratio = ratio
    }

    public struct Region: Sendable, Equatable {
        public let x: Int, y: Int, width: Int, height: Int
    }

    /// The region for an image of `width` × `height`, drawn with `random`.
    public func region<R: RandomNumberGenerator>(width: Int, height: Int, using random: inout R) -> Region {
        let area = Double(width * height)
        let logRatio = log(ratio.lowerBound) ... log(ratio.upperBound)
        for _ in 0 ..< 10 {
            let target = area * Double.random(in: scale, using: &random)
            let aspect = exp(Double.random(in: logRatio, using: &random))
            let w = Int((target * aspect).squareRoot().rounded()), h = Int((target / aspect).squareRoot().rounded())
            if w > 0, h > 0, w <= width, h <= height {
                return Region(x: Int.random(in: 0 ... width - w, using: &random), y: Int.random(in: 0 ... height - h, using: &random),
                              width: w, height: h)
            }
        }
        let aspect = Double(width) / Double(max(height, 1))
        var w = width, h = height
        if aspect < ratio.lowerBound { h = max(1, Int((Double(w) / ratio.lowerBound).rounded())) }
        else if aspect > ratio.upperBound { w = max(1, Int((Double(h) * ratio.upperBound).rounded())) }
        return Region(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }

    /// `image` cropped to a region drawn with `random`.
    public func apply<R: RandomNumberGenerator>(_ image: RGBImage, using random: inout R) -> RGBImage {
        guard image.width > 0, image.height > 0 else { return image }
        let r = region(width: image.width, height: image.height, using: &random)
        var pixels = [UInt8](repeating: 0, count: r.width * r.height * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { source in
                for row in 0 ..< r.height {
                    let from = ((r.y + row) * image.width + r.x) * 3
                    out.baseAddress!.advanced(by: row * r.width * 3)
                        .update(from: source.baseAddress!.advanced(by: from), count: r.width * 3)
                }
            }
        }
        return RGBImage(width: r.width, height: r.height, pixels: pixels)
    }
}
