import Foundation
import GlimpseBase

/// Turns an `RGBImage` into a model's `pixel_values`, reproducing transformers' PIL image
/// processors (`CLIPImageProcessorPil` and friends): resize with Pillow's filter, center
/// crop (zero-padding when the crop is larger), rescale, normalise, channels first.
///
/// Rescale and normalise follow numpy's dtypes exactly (`uint8 * scale` in float64, cast
/// to float32, then `(x - mean) / std` in float32), so the per-value result comes from a
/// 256-entry table per channel.
public struct ImagePreprocessor: Sendable {
    public let config: PreprocessorConfig
    /// `table[c * 256 + v]`: the final value for byte `v` in channel `c`.
    private let table: [Float]

    public init(config: PreprocessorConfig) {
        self.config = config
        var t = [Float](repeating: 0, count: 768)
        for c in 0..<3 {
            for v in 0..<256 {
                var x = Float(v)
                if config.doRescale {
                    x = config.arithmetic == .torchvision ? Float(v) / Float(1 / config.rescaleFactor) : Float(Double(v) * config.rescaleFactor)
                }
                if config.doNormalize { x = (x - Float(config.imageMean[c])) / Float(config.imageStd[c]) }
                t[c * 256 + v] = x
            }
        }
        table = t
    }

    /// Reads `preprocessor_config.json` from a checkpoint folder; keys it omits take `defaults`
    /// (CLIP's unless given), and `squareIntegerSize` reads a bare integer size as a square.
    public static func load(folder: URL, defaults: PreprocessorConfig = PreprocessorConfig(),
                            squareIntegerSize: Bool = false) throws -> ImagePreprocessor {
        let url = folder.appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw GlimpseError.fileNotFound(path: url.path, what: "preprocessor configuration")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw GlimpseError.invalidFile(path: url.path, reason: "cannot be read")
        }
        do {
            return ImagePreprocessor(config: try PreprocessorConfig(data: data, defaults: defaults, squareIntegerSize: squareIntegerSize))
        } catch let error as GlimpseError {
            if case .invalidConfig(let message) = error { throw GlimpseError.invalidConfig("\(url.path): \(message)") }
            if case .invalidFile(_, let reason) = error { throw GlimpseError.invalidFile(path: url.path, reason: reason) }
            throw error
        } catch {
            throw GlimpseError.invalidFile(path: url.path, reason: "is not valid JSON")
        }
    }

    /// Output height when it does not depend on the image (crop or exact size); otherwise
    /// the configured shortest edge. Use `outputSize(for:)` for the exact value.
    public var outputHeight: Int { fixedSize.height }
    /// Output width; see `outputHeight`.
    public var outputWidth: Int { fixedSize.width }

    private var fixedSize: (height: Int, width: Int) {
        if config.doCenterCrop { return (config.cropHeight, config.cropWidth) }
        switch config.size {
        case .exact(let h, let w): return config.doResize ? (h, w) : (0, 0)
        case .shortestEdge(let n, _): return (n, n)
        }
    }

    /// The (height, width) of `pixel_values` for an image of this size.
    public func outputSize(for image: RGBImage) -> (height: Int, width: Int) {
        if config.doCenterCrop { return (config.cropHeight, config.cropWidth) }
        return resizedSize(height: image.height, width: image.width)
    }

    /// The resize target, computed with transformers' integer arithmetic.
    func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        guard config.doResize, height > 0, width > 0 else { return (height, width) }
        switch config.size {
        case .exact(let h, let w):
            return (h, w)
        case .shortestEdge(let size, nil):
            // get_resize_output_image_size(default_to_square=False): int(size * long / short).
            let (short, long) = width <= height ? (width, height) : (height, width)
            let newLong = Int(Double(size * long) / Double(short))
            return width <= height ? (newLong, size) : (size, newLong)
        case .shortestEdge(var size, let maxSize?):
            // get_size_with_aspect_ratio.
            let minOriginal = Double(min(height, width)), maxOriginal = Double(max(height, width))
            var rawSize: Double?
            if maxOriginal / minOriginal * Double(size) > Double(maxSize) {
                rawSize = Double(maxSize) * minOriginal / maxOriginal
                size = Int(rawSize!.rounded(.toNearestOrEven))
            }
            if (height <= width && height == size) || (width <= height && width == size) { return (height, width) }
            if width < height {
                let oh = rawSize.map { Int($0 * Double(height) / Double(width)) } ?? Int(Double(size * height) / Double(width))
                return (oh, size)
            }
            let ow = rawSize.map { Int($0 * Double(width) / Double(height)) } ?? Int(Double(size * width) / Double(height))
            return (size, ow)
        }
    }

    /// Planar CHW floats: exactly the HF processor's `pixel_values[0]` for this image.
    public func callAsFunction(_ image: RGBImage) -> [Float] {
        let (h, w) = outputSize(for: image)
        var out = [Float](repeating: 0, count: 3 * h * w)
        out.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress, !buffer.isEmpty { pixelValues(image, into: base) }
        }
        return out
    }

    /// Writes `3 * outputSize(for: image)` floats (CHW) to `buffer`, for batching.
    package func pixelValues(_ image: RGBImage, into buffer: UnsafeMutablePointer<Float>) {
        let target = resizedSize(height: image.height, width: image.width)
        let resized = target == (image.height, image.width) || target.height < 1 || target.width < 1
            ? image : Resize.resample(image, width: target.width, height: target.height, filter: config.resample)
        let (oh, ow) = outputSize(for: image)
        // center_crop: source offset floor((in - crop) / 2); negative means zero padding
        // of ceil((crop - in) / 2) before the image, which is the same offset.
        let top = config.doCenterCrop ? floorHalf(resized.height - oh) : 0
        let left = config.doCenterCrop ? floorHalf(resized.width - ow) : 0
        let plane = oh * ow
        resized.pixels.withUnsafeBufferPointer { src in
            table.withUnsafeBufferPointer { lut in
                for y in 0..<oh {
                    let sy = y + top
                    let rowInside = sy >= 0 && sy < resized.height
                    for x in 0..<ow {
                        let sx = x + left
                        let o = y * ow + x
                        if rowInside && sx >= 0 && sx < resized.width {
                            let s = (sy * resized.width + sx) * 3
                            buffer[o] = lut[Int(src[s])]
                            buffer[plane + o] = lut[256 + Int(src[s + 1])]
                            buffer[2 * plane + o] = lut[512 + Int(src[s + 2])]
                        } else {
                            buffer[o] = lut[0]; buffer[plane + o] = lut[256]; buffer[2 * plane + o] = lut[512]
                        }
                    }
                }
            }
        }
    }

    /// The crop's source offset for `v` = input − crop; negative means padding before the image.
    private func floorHalf(_ v: Int) -> Int {
        if config.arithmetic == .torchvision {
            // torchvision pads (crop − in) // 2 before, then crops at round((in − crop) / 2).
            return v >= 0 ? Int((Double(v) / 2).rounded(.toNearestOrEven)) : -((-v) / 2)
        }
        return v >= 0 ? v / 2 : -((-v + 1) / 2)
    }
}
