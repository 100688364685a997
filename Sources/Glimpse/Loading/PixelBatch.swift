import Foundation
import GlimpseCore
import GlimpseImage

/// The size of an input image as decoded, before preprocessing: boxes are scaled back to it.
public struct ImageSize: Sendable, Equatable {
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// Pixel values [B, 3, S, S] of several images for a vision tower with a square input of
/// side S: the one place where CLIP, OWL-ViT and BLIP turn images into `pixel_values`.
///
/// Image files are decoded and preprocessed one at a time straight into the batch tensor,
/// so a batch of huge images never sits in memory decoded at once: the peak is one decoded
/// image plus the pixel batch. A file that cannot be read or decoded fails on its own and
/// takes no slot; the others are still batched.
public struct PixelBatch: Sendable {
    /// [inputs that succeeded, 3, S, S], in input order.
    public let pixels: Tensor
    /// One per input, in input order: its decoded size, or why it failed.
    public let inputs: [Result<ImageSize, GlimpseError>]

    /// Decoded images, preprocessed in parallel (they are all in memory already).
    public init(images: [RGBImage], preprocessor: ImagePreprocessor, size: Int) throws {
        for image in images { try Self.check(preprocessor.outputSize(for: image), size: size) }
        let pixels = try Self.allocate(images.count, size: size)
        try Profiler.measure(.preprocessing) {
            try pixels.withUnsafeMutableBufferPointer { buffer in
                try preprocessor.pixelValues(images, height: size, width: size, into: buffer) { Parallel.forEach($0, $1) }
            }
        }
        self.pixels = pixels
        inputs = images.map { .success(ImageSize(width: $0.width, height: $0.height)) }
    }

    /// Image files, each decoded by `decode` and preprocessed before the next is decoded.
    /// Unreadable or undecodable files are failures in `inputs`; a preprocessor whose output
    /// is not S×S is a configuration fault and throws.
    public init(files: [String], preprocessor: ImagePreprocessor, size: Int,
                decode: (String) throws -> RGBImage = PixelBatch.decodeFile) throws {
        let slots = try Self.allocate(files.count, size: size)
        let plane = 3 * size * size
        var inputs: [Result<ImageSize, GlimpseError>] = []
        var filled = 0
        for file in files {
            let image: RGBImage
            do {
                image = try Profiler.measure(.decode) { try decode(file) }
            } catch {
                inputs.append(.failure(.wrap(error)))
                continue
            }
            try Self.check(preprocessor.outputSize(for: image), size: size)
            try Profiler.measure(.preprocessing) {
                try preprocessor.pixelValues(image, into: UnsafeMutableBufferPointer(start: slots.data + filled * plane, count: plane))
            }
            filled += 1
            inputs.append(.success(ImageSize(width: image.width, height: image.height)))
        }
        pixels = filled == files.count ? slots : slots.rows(0 ..< filled)
        self.inputs = inputs
    }

    /// Reads and decodes an image file as Hugging Face's `load_image` does.
    public static func decodeFile(_ path: String) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path))
    }

    private static func check(_ output: (height: Int, width: Int), size: Int) throws {
        guard output.height == size, output.width == size else {
            throw GlimpseError.invalidConfig(
                "preprocessor_config.json gives \(output.width)×\(output.height) images but the model takes \(size)×\(size)")
        }
    }

    private static func allocate(_ count: Int, size: Int) throws -> Tensor {
        let (square, o1) = size.multipliedReportingOverflow(by: size)
        let (plane, o2) = square.multipliedReportingOverflow(by: 3)
        let (_, o3) = plane.multipliedReportingOverflow(by: max(count, 1))
        guard size > 0, !o1, !o2, !o3 else {
            throw GlimpseError.invalidConfig("a batch of \(count) images of \(size)×\(size) pixels is too large to hold")
        }
        return Tensor(zeros: [count, 3, size, size])
    }
}
