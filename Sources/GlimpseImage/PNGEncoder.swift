import CPNG
import Foundation
import GlimpseBase

/// Writes 8-bit RGB PNGs (used to save images with drawn detections) through libpng's
/// simplified writer, which reports failures in a message instead of `longjmp`.
public enum PNGEncoder {
    /// The PNG file bytes for `image`.
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        guard image.width > 0, image.height > 0, image.width <= Int(UInt32.max / 3), image.height <= Int(Int32.max) else {
            throw GlimpseError.invalidArgument("cannot encode a \(image.width)x\(image.height) image as PNG")
        }
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = 0x02  // PNG_FORMAT_RGB
        defer { png_image_free(&png) }
        let stride = Int32(image.width * 3)
        var size = 0
        // First call measures; the second writes into a buffer of that size.
        let measured = image.pixels.withUnsafeBytes { px in
            png_image_write_to_memory(&png, nil, &size, 0, px.baseAddress, stride, nil)
        }
        guard measured != 0, size > 0 else { throw failure(&png) }
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes { px in
                png_image_write_to_memory(&png, dst.baseAddress, &size, 0, px.baseAddress, stride, nil)
            }
        }
        guard written != 0 else { throw failure(&png) }
        return Array(out.prefix(size))
    }

    /// Encodes `image` and writes it to `url`, replacing any existing file.
    public static func write(_ image: RGBImage, to url: URL) throws {
        let bytes = try encode(image)
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw GlimpseError.invalidFile(path: url.path, reason: "cannot be written (\(error.localizedDescription))")
        }
    }

    private static func failure(_ png: inout png_image) -> GlimpseError {
        let message = withUnsafeBytes(of: &png.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return GlimpseError.invalidArgument("PNG encoding failed: \(message)")
    }
}
