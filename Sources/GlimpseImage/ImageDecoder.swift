import Foundation
import GlimpseBase
#if canImport(Glibc)
import Glibc
#endif

/// Turns image files into `RGBImage`s the way Hugging Face's `load_image` does:
/// `PIL.Image.open(path)`, `ImageOps.exif_transpose`, then `.convert("RGB")`.
///
/// The format is chosen by content (magic bytes), never by file extension, because
/// downloaded images are often misnamed. `convert("RGB")` drops alpha rather than
/// compositing it, so transparent pixels keep whatever colour the file stores.
public enum ImageDecoder {
    /// Bytes enough to tell every format `ImageFormat.sniff` knows.
    static let headerBytes = 32

    /// Decodes the file at `url`, naming it in every error. The file must be a regular file of
    /// at most `Limits.imageFileBytes`, and its first bytes must say JPEG or PNG before the rest
    /// is read, so a FIFO, a device or a huge file of something else is refused unread.
    public static func decode(contentsOf url: URL) throws -> RGBImage {
        let path = url.path
        let data = try InputFile.read(path, what: "image", limit: Limits.imageFileBytes, prefix: headerBytes) { head in
            try requireSupported(ImageFormat.sniff([UInt8](head)), name: path)
        }
        return try decode(data: [UInt8](data), name: path)
    }

    /// Decodes an in-memory file; `name` (a path or any label) is used in error messages.
    public static func decode(data: [UInt8], name: String) throws -> RGBImage {
        let format = ImageFormat.sniff(data)
        try requireSupported(format, name: name)
        if format == .png {
            let (image, exif) = try PNGDecoder.decode(data, name: name)
            return ExifOrientation.apply(exif, to: image)
        }
        let image = try JPEGDecoder.decode(data, name: name)
        return ExifOrientation.apply(ExifOrientation.fromJPEG(data), to: image)
    }

    /// Throws, naming the format, unless `format` is JPEG or PNG.
    static func requireSupported(_ format: ImageFormat, name: String) throws {
        switch format {
        case .jpeg, .png: return
        case .unsupported(let format):
            throw GlimpseError.invalidFile(
                path: name, reason: "is a \(format) image; only JPEG and PNG are supported (convert it first)")
        case .empty:
            throw GlimpseError.invalidFile(path: name, reason: "is empty, not an image")
        case .unknown:
            throw GlimpseError.invalidFile(path: name, reason: "is not a JPEG or PNG image (unrecognised content)")
        }
    }

    /// Checks `width x height` against the size limit and returns the RGB byte count.
    static func rgbByteCount(width: Int, height: Int, name: String) throws -> Int {
        guard width > 0, height > 0 else {
            throw GlimpseError.invalidFile(path: name, reason: "has invalid dimensions \(width)x\(height)")
        }
        guard width <= Limits.imageSide, height <= Limits.imageSide else {
            throw GlimpseError.invalidFile(
                path: name, reason: "is \(width)x\(height), a side longer than the \(Limits.imageSide) pixels an image may have")
        }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= Limits.imagePixels else {
            throw GlimpseError.invalidFile(
                path: name, reason: "is \(width)x\(height), more than \(Limits.imagePixels) pixels (possible decompression bomb)")
        }
        return pixels * 3
    }
}

/// What the first bytes of a file say it is.
enum ImageFormat: Equatable {
    case jpeg, png, empty, unknown
    case unsupported(String)

    static func sniff(_ d: [UInt8]) -> ImageFormat {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            d.count >= offset + magic.count && Array(d[offset..<offset + magic.count]) == magic
        }
        if d.isEmpty { return .empty }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .unsupported("GIF") }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .unsupported("TIFF") }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .unsupported("WebP") }
        if starts(Array("BM".utf8)) && d.count >= 14 { return .unsupported("BMP") }
        if starts(Array("ftyp".utf8), at: 4) {
            let brand = d.count >= 12 ? String(decoding: d[8..<12], as: UTF8.self) : ""
            if brand.hasPrefix("avi") { return .unsupported("AVIF") }
            if brand.hasPrefix("hei") || brand.hasPrefix("mif1") || brand.hasPrefix("hev") { return .unsupported("HEIF/HEIC") }
        }
        if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) {
            return .unsupported("JPEG 2000")
        }
        if starts([0xFF, 0x0A]) || starts([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) { return .unsupported("JPEG XL") }
        if starts(Array("qoif".utf8)) { return .unsupported("QOI") }
        if starts(Array("8BPS".utf8)) { return .unsupported("PSD") }
        return .unknown
    }
}
