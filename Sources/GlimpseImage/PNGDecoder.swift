import CPNG
import GlimpseBase

/// PNG decoding with libpng's simplified `png_image` API, which reports errors through
/// its `message` field instead of `longjmp`, so damaged files cannot unwind Swift frames.
///
/// Results match Pillow's `Image.open(p).convert("RGB")`:
/// - alpha (RGBA, LA, palette/gray/RGB tRNS) is dropped, not composited;
/// - 16-bit RGB/RGBA/LA keep the high byte of each sample (Pillow's "RGB;16B" unpackers);
/// - 16-bit gray opens as "I;16" and converts by clipping at 255 (so most values turn white);
/// - gamma and colour-profile chunks are ignored.
enum PNGDecoder {
    private static let flagAlpha: UInt32 = 0x01, flagColor: UInt32 = 0x02, flagLinear: UInt32 = 0x04

    static func decode(_ data: [UInt8], name: String) throws -> (RGBImage, exif: Int) {
        var chunks: PNGChunks
        do {
            chunks = try PNGChunks(data)
        } catch .truncated {
            throw GlimpseError.invalidFile(path: name, reason: "is a truncated PNG")
        } catch .malformed(let why) {
            throw GlimpseError.invalidFile(path: name, reason: "is a corrupt PNG (\(why))")
        }
        let count = try ImageDecoder.rgbByteCount(width: chunks.width, height: chunks.height, name: name)
        let exif = chunks.exif.map(ExifOrientation.fromTIFF) ?? 1
        let hasAlpha = chunks.colorType == 4 || chunks.colorType == 6
        let pixels = chunks.width * chunks.height
        var rgb = [UInt8](repeating: 0, count: count)

        if chunks.bitDepth == 16 && chunks.colorType == 4 {
            chunks.relabelGrayAlpha16AsRGBA8()
            let raw: [UInt8] = try read(chunks.stripped, format: flagColor | flagAlpha, channels: 4,
                                             width: chunks.width, height: chunks.height, name: name)
            for i in 0..<pixels { let v = raw[4 * i]; rgb[3 * i] = v; rgb[3 * i + 1] = v; rgb[3 * i + 2] = v }
        } else if chunks.bitDepth == 16 {
            // No gAMA is left, so libpng treats the 16-bit samples as linear and returns them
            // untouched, except that with alpha it premultiplies; undo that (exact where opaque).
            let channels = chunks.colorType == 0 ? 1 : hasAlpha ? 4 : 3
            let format = flagLinear | (channels == 1 ? 0 : flagColor) | (hasAlpha ? flagAlpha : 0)
            let raw: [UInt16] = try read(chunks.stripped, format: format, channels: channels,
                                          width: chunks.width, height: chunks.height, name: name)
            for i in 0..<pixels {
                if channels == 1 {
                    let v = UInt8(min(raw[i], 255))  // Pillow: "I;16" -> RGB clips
                    rgb[3 * i] = v; rgb[3 * i + 1] = v; rgb[3 * i + 2] = v
                    continue
                }
                let a = hasAlpha ? UInt32(raw[channels * i + 3]) : 65535
                for c in 0..<3 {
                    var v = UInt32(raw[channels * i + c])
                    if a != 65535 { v = a == 0 ? 0 : min(65535, (v * 65535 + a / 2) / a) }
                    rgb[3 * i + c] = UInt8(v >> 8)
                }
            }
        } else {
            // 8 bits or fewer: libpng expands palette and low-depth gray exactly as Pillow.
            let channels = hasAlpha ? 4 : 3
            let raw: [UInt8] = try read(chunks.stripped, format: flagColor | (hasAlpha ? flagAlpha : 0),
                                        channels: channels, width: chunks.width, height: chunks.height, name: name)
            if !hasAlpha { return (RGBImage(width: chunks.width, height: chunks.height, pixels: raw), exif) }
            for i in 0..<pixels {
                rgb[3 * i] = raw[4 * i]; rgb[3 * i + 1] = raw[4 * i + 1]; rgb[3 * i + 2] = raw[4 * i + 2]
            }
        }
        return (RGBImage(width: chunks.width, height: chunks.height, pixels: rgb), exif)
    }

    /// Runs the simplified reader over `file` into `channels` samples of `T` per pixel.
    private static func read<T: FixedWidthInteger>(_ file: [UInt8], format: UInt32, channels: Int, width: Int, height: Int,
                                                   name: String) throws -> [T] {
        // libpng keeps reading from this memory until finish_read, so it needs a stable copy.
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: file.count, alignment: 16)
        defer { source.deallocate() }
        source.copyBytes(from: file)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let begun = png_image_begin_read_from_memory(&image, source.baseAddress, source.count)
        guard begun != 0 else { throw failure(&image, name) }
        image.format = format
        // The size checked against the limits is the size libpng fills in.
        guard Int(image.width) == width, Int(image.height) == height else {
            throw GlimpseError.invalidFile(path: name, reason: "is a corrupt PNG (IHDR says \(width)x\(height), libpng reads \(image.width)x\(image.height))")
        }
        var out = [T](repeating: 0, count: width * height * channels)
        let finished = out.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, Int32(width * channels), nil)
        }
        guard finished != 0 else { throw failure(&image, name) }
        return out
    }

    private static func failure(_ image: inout png_image, _ name: String) -> GlimpseError {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return GlimpseError.invalidFile(path: name, reason: "is a corrupt PNG (\(message))")
    }
}
