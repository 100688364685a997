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
    /// The file the config came from, named in errors ("…/preprocessor_config.json").
    public let source: String
    /// `table[c * 256 + v]`: the final value for byte `v` in channel `c`.
    private let table: [Float]

    public init(config: PreprocessorConfig, source: String = "preprocessor_config.json") {
        self.config = config
        self.source = source
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
        let path = folder.appendingPathComponent("preprocessor_config.json").path
        let data = try InputFile.read(path, what: "preprocessor configuration", limit: Limits.configFileBytes)
        let config = try PreprocessorConfig(data: data, defaults: defaults, squareIntegerSize: squareIntegerSize, path: path)
        return ImagePreprocessor(config: config, source: path)
    }

    /// Output height when it does not depend on the image (crop or exact size); otherwise
    /// the configured shortest edge. Use `outputSize(for:)` for the exact value.
    public var outputHeight: Int { fixedOutputSize?.height ?? approximateSize.height }
    /// Output width; see `outputHeight`.
    public var outputWidth: Int { fixedOutputSize?.width ?? approximateSize.width }

    /// The (height, width) of every output, or nil when it follows each image's size (no center
    /// crop, and a shortest-edge resize or none): such a config cannot feed a fixed-size model.
    public var fixedOutputSize: (height: Int, width: Int)? {
        if config.doCenterCrop { return (config.cropHeight, config.cropWidth) }
        if config.doResize, case .exact(let h, let w) = config.size { return (h, w) }
        return nil
    }

    private var approximateSize: (height: Int, width: Int) {
        guard config.doResize, case .shortestEdge(let n, _) = config.size else { return (0, 0) }
        return (n, n)
    }

    /// Checks that every image comes out at the model's input size, as transformers does (its
    /// models reject other sizes). Call it when loading a model, so a config that would give
    /// other sizes is refused with the sizes named, before any image is read.
    public func validate(forModelInput height: Int, _ width: Int) throws {
        guard let fixed = fixedOutputSize else {
            let why = config.doResize ? "a shortest-edge resize and no center crop" : "no resize and no center crop"
            throw GlimpseError.invalidConfig(
                "\(source): \(why) gives images of each input's own shape, but the model takes \(width)×\(height) (expected do_center_crop with crop_size \(width)×\(height), or size {height: \(height), width: \(width)})")
        }
        guard fixed == (height, width) else {
            throw GlimpseError.invalidConfig(
                "\(source): gives \(fixed.width)×\(fixed.height) images but the model takes \(width)×\(height) (expected \(width)×\(height), found \(fixed.width)×\(fixed.height))")
        }
    }

    /// The (height, width) of `pixel_values` for an image of this size.
    public func outputSize(for image: RGBImage) -> (height: Int, width: Int) {
        if config.doCenterCrop { return (config.cropHeight, config.cropWidth) }
        return resizedSize(height: image.height, width: image.width)
    }

    /// `Int(Double(a * b) / Double(c))` as transformers computes it, or `Int.max` where the
    /// product overflows (an image no limit lets through).
    private static func scaled(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : Int(Double(product) / Double(c))
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
            let newLong = Self.scaled(size, long, short)
            return width <= height ? (newLong, size) : (size, newLong)
        case .shortestEdge(var size, let maxSize?):
            // get_size_with_aspect_ratio.
            let minOriginal = Double(min(height, width)), maxOriginal = Double(max(height, width))
            var rawSize: Double?
            if maxOriginal / minOriginal * Double(size) > Double(maxSize) {
                let raw = Double(maxSize) * minOriginal / maxOriginal
                rawSize = raw
                size = Int(raw.rounded(.toNearestOrEven))
            }
            if (height <= width && height == size) || (width <= height && width == size) { return (height, width) }
            if width < height {
                let oh = rawSize.map { Int($0 * Double(height) / Double(width)) } ?? Self.scaled(size, height, width)
                return (oh, size)
            }
            let ow = rawSize.map { Int($0 * Double(width) / Double(height)) } ?? Self.scaled(size, width, height)
            return (size, ow)
        }
    }

    /// What preprocessing `image` takes: the resize target and the output size, or an error
    /// when either is beyond `Limits` (a 1×60,000 strip resized to a 224 shortest edge).
    private func plan(_ image: RGBImage) throws -> (resized: (height: Int, width: Int), output: (height: Int, width: Int)) {
        guard image.width <= Limits.imageSide, image.height <= Limits.imageSide else {
            throw GlimpseError.invalidArgument(
                "an image of \(image.width)×\(image.height) pixels has a side over the \(Limits.imageSide) pixels preprocessing takes")
        }
        let resized = resizedSize(height: image.height, width: image.width)
        let output = outputSize(for: image)
        for (h, w) in [resized, output] {
            let (pixels, overflow) = h.multipliedReportingOverflow(by: w)
            guard !overflow, pixels <= Limits.imagePixels else {
                throw GlimpseError.invalidArgument(
                    "\(source): an image of \(image.width)×\(image.height) pixels would be resized to \(w)×\(h), more than \(Limits.imagePixels) pixels")
            }
        }
        return (resized, output)
    }

    /// Planar CHW floats: exactly the HF processor's `pixel_values[0]` for this image.
    public func callAsFunction(_ image: RGBImage) throws -> [Float] {
        let (_, (h, w)) = try plan(image)
        var out = [Float](repeating: 0, count: 3 * h * w)
        try out.withUnsafeMutableBufferPointer { try pixelValues(image, into: $0) }
        return out
    }

    /// Writes the CHW floats of `image` to `buffer`, which must hold exactly
    /// `3 * outputSize(for: image)` floats: a buffer of another size is an error, never
    /// written past.
    package func pixelValues(_ image: RGBImage, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let plan = try plan(image)
        let needed = 3 * plan.output.height * plan.output.width
        guard buffer.count == needed else {
            throw GlimpseError.invalidArgument(
                "a buffer of \(buffer.count) floats cannot take a \(plan.output.width)×\(plan.output.height) image (expected \(needed) floats)")
        }
        guard let base = buffer.baseAddress, needed > 0 else { return }
        write(image, plan.resized, plan.output, into: base)
    }

    /// Pixel values of a batch, [images, 3, height, width], into `buffer` (exactly that many
    /// floats). Every image is checked to come out at `height × width` before anything is
    /// written; `forEach` runs the per-image work over index ranges (a thread pool), serially by default.
    package func pixelValues(_ images: [RGBImage], height: Int, width: Int, into buffer: UnsafeMutableBufferPointer<Float>,
                            forEach: (Int, (Range<Int>) -> Void) -> Void = { n, body in body(0..<n) }) throws {
        let (area, areaOverflow) = height.multipliedReportingOverflow(by: width)
        let (plane, planeOverflow) = area.multipliedReportingOverflow(by: 3)
        let (total, overflow) = plane.multipliedReportingOverflow(by: images.count)
        guard height > 0, width > 0, !areaOverflow, !planeOverflow, !overflow, buffer.count == total else {
            throw GlimpseError.invalidArgument(
                "a buffer of \(buffer.count) floats cannot take \(images.count) images of 3×\(height)×\(width)")
        }
        let plans = try images.enumerated().map { index, image in
            let plan = try plan(image)
            guard plan.output == (height, width) else {
                throw GlimpseError.invalidConfig(
                    "\(source): image \(index + 1) (\(image.width)×\(image.height)) comes out \(plan.output.width)×\(plan.output.height) but the model takes \(width)×\(height)")
            }
            return plan
        }
        guard let base = buffer.baseAddress else { return }
        forEach(images.count) { range in
            for i in range { write(images[i], plans[i].resized, plans[i].output, into: base + i * plane) }
        }
    }

    /// Resize, crop or pad, and look up the final values: `3 * output` floats to `buffer`.
    private func write(_ image: RGBImage, _ target: (height: Int, width: Int), _ output: (height: Int, width: Int),
                       into buffer: UnsafeMutablePointer<Float>) {
        let (oh, ow) = output
        let identity = target == (image.height, image.width) || target.height < 1 || target.width < 1
        let full = identity ? (height: image.height, width: image.width) : target
        // center_crop: source offset floor((in - crop) / 2); negative means zero padding
        // of ceil((crop - in) / 2) before the image, which is the same offset.
        let cropTop = config.doCenterCrop ? floorHalf(full.height - oh) : 0
        let cropLeft = config.doCenterCrop ? floorHalf(full.width - ow) : 0
        // Only the part of the resized image the crop keeps is resampled.
        let rows = max(cropTop, 0) ..< min(cropTop + oh, full.height)
        let columns = max(cropLeft, 0) ..< min(cropLeft + ow, full.width)
        let resized = identity ? Resize.crop(image, rows: rows, columns: columns)
            : Resize.resample(image, width: full.width, height: full.height, filter: config.resample, rows: rows, columns: columns)
        let top = cropTop - rows.lowerBound, left = cropLeft - columns.lowerBound
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
