import CTurboJPEG
import GlimpseBase

/// JPEG decoding through the TurboJPEG API.
///
/// Classic libjpeg reports errors by `longjmp`, which would skip Swift frames; TurboJPEG
/// catches those internally and returns -1 with a message, so corrupt files become errors.
/// Default flags give accurate integer IDCT and fancy upsampling, the same as Pillow.
enum JPEGDecoder {
    static func decode(_ data: [UInt8], name: String) throws -> RGBImage {
        guard let handle = tjInitDecompress() else {
            throw GlimpseError.invalidFile(path: name, reason: "cannot start the JPEG decoder")
        }
        defer { tjDestroy(handle) }

        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = data.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0 else {
            throw GlimpseError.invalidFile(path: name, reason: "is a corrupt or truncated JPEG (\(message(handle)))")
        }
        let count = try ImageDecoder.rgbByteCount(width: Int(width), height: Int(height), name: name)
        let pixelCount = count / 3

        // Decode to the channel layout the file has; gray and CMYK are widened below exactly
        // as Pillow's convert("RGB") does.
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let isGray = colorspace == Int32(TJCS_GRAY.rawValue)
        let (format, channels): (TJPF, Int) = isCMYK ? (TJPF_CMYK, 4) : isGray ? (TJPF_GRAY, 1) : (TJPF_RGB, 3)
        var raw = [UInt8](repeating: 0, count: pixelCount * channels)
        let status = data.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress,
                              width, 0, height, Int32(format.rawValue), 0)
            }
        }
        if status != 0 {
            let text = message(handle)
            // Warnings leave a usable image, and Pillow accepts them too (e.g. extraneous
            // bytes before a marker), except running out of data, which Pillow reports as
            // "image file is truncated".
            let fatal = tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || text.contains("Premature end")
            if fatal {
                throw GlimpseError.invalidFile(path: name, reason: "is a corrupt or truncated JPEG (\(text))")
            }
        }

        if channels == 3 { return RGBImage(width: Int(width), height: Int(height), pixels: raw) }
        var rgb = [UInt8](repeating: 0, count: count)
        raw.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                if isGray {
                    for i in 0..<pixelCount {
                        let v = src[i]
                        dst[3 * i] = v; dst[3 * i + 1] = v; dst[3 * i + 2] = v
                    }
                } else {
                    for i in 0..<pixelCount { cmykToRGB(src, 4 * i, dst, 3 * i) }
                }
            }
        }
        return RGBImage(width: Int(width), height: Int(height), pixels: rgb)
    }

    /// Pillow reads CMYK JPEGs as Adobe-inverted ("CMYK;I": stored 255 means no ink) and then
    /// converts with `R = (255-K) - (C * (255-K)) / 255` using its rounded MULDIV255.
    /// In stored (inverted) values that is `k - muldiv255(255 - c, k)` with `k` the stored K.
    @inline(__always)
    private static func cmykToRGB(_ src: UnsafeBufferPointer<UInt8>, _ s: Int,
                                  _ dst: UnsafeMutableBufferPointer<UInt8>, _ d: Int) {
        let nk = Int(src[s + 3])
        for c in 0..<3 {
            let ink = 255 - Int(src[s + c])
            let t = ink * nk + 128
            let v = nk - (((t >> 8) + t) >> 8)
            dst[d + c] = UInt8(clamping: v)
        }
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let cString = tjGetErrorStr2(handle) else { return "unknown error" }
        return String(cString: cString)
    }
}
