import CGlimpseImage
import GlimpseBase

/// JPEG decoding on libjpeg-turbo, through a small C layer (`CGlimpseImage`) that keeps
/// libjpeg's `longjmp` errors out of Swift frames, stops at once on truncated data and bounds
/// the progressive scan count (`Limits.jpegScans`).
///
/// libjpeg's defaults give accurate integer IDCT and fancy upsampling, the same as Pillow; gray
/// is widened and CMYK converted exactly as Pillow's `convert("RGB")` does.
enum JPEGDecoder {
    static func decode(_ data: [UInt8], name: String) throws -> RGBImage {
        var message = [CChar](repeating: 0, count: 256)
        var info = gl_jpeg_info()
        let header = data.withUnsafeBufferPointer { buffer in
            gl_jpeg_read_info(buffer.baseAddress, buffer.count, &info, &message, message.count)
        }
        guard header == 0 else { throw failure(name, message) }
        let count = try ImageDecoder.rgbByteCount(width: Int(info.width), height: Int(info.height), name: name)
        var rgb = [UInt8](repeating: 0, count: count)
        let status = data.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                gl_jpeg_decode_rgb(src.baseAddress, src.count, Int32(Limits.jpegScans),
                                   dst.baseAddress, dst.count, &message, message.count)
            }
        }
        guard status == 0 else { throw failure(name, message) }
        return RGBImage(width: Int(info.width), height: Int(info.height), pixels: rgb)
    }

    private static func failure(_ name: String, _ message: [CChar]) -> GlimpseError {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let text = bytes.isEmpty ? "unknown error" : String(decoding: bytes, as: UTF8.self)
        return GlimpseError.invalidFile(path: name, reason: "is a corrupt or truncated JPEG (\(text))")
    }
}
