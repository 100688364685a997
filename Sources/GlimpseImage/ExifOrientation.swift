import CGlimpseImage
import Foundation

/// EXIF orientation (IFD0 tag 0x0112), applied like `PIL.ImageOps.exif_transpose`, which
/// Hugging Face's `load_image` calls: phone photos are stored sideways with this tag.
///
/// The parser reads only what it needs and treats any truncated or bogus structure as
/// "no orientation" (1), as Pillow does when its EXIF reader gives up.
enum ExifOrientation {
    /// Finds the first APP1 "Exif" segment of a JPEG and returns its orientation (1...8).
    static func fromJPEG(_ d: [UInt8]) -> Int {
        exifBlock(jpeg: d).map(fromTIFF) ?? 1
    }

    /// The TIFF-structured block of a JPEG's first APP1 "Exif" segment (after the "Exif\0\0"
    /// prefix), or nil when image data starts first or the markers are damaged.
    static func exifBlock(jpeg d: [UInt8]) -> [UInt8]? {
        var i = 2  // after SOI
        while i + 4 <= d.count {
            guard d[i] == 0xFF else { return nil }
            let marker = d[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }  // image data starts: no EXIF before it
            let length = Int(d[i + 2]) << 8 | Int(d[i + 3])
            guard length >= 2, i + 2 + length <= d.count else { return nil }
            let body = i + 4, end = i + 2 + length
            if marker == 0xE1, end - body >= 6, Array(d[body..<body + 6]) == Array("Exif\0\0".utf8) {
                return Array(d[(body + 6)..<end])
            }
            i = end
        }
        return nil
    }

    /// Reads the orientation from a TIFF-structured EXIF block (PNG `eXIf` chunks hold one
    /// directly; some writers prefix it with "Exif\0\0").
    static func fromTIFF(_ block: [UInt8]) -> Int {
        guard let tiff = TIFFBlock(block), let entry = tiff.entry(0x0112, inIFDAt: tiff.firstIFD) else { return 1 }
        // SHORT (3) is the only type the standard allows; accept LONG too, like Pillow.
        let value: Int?
        switch entry.type {
        case 3: value = tiff.u16(entry.valueOffset)
        case 4: value = tiff.u32(entry.valueOffset)
        default: value = nil
        }
        if let v = value, (1...8).contains(v) { return v }
        return 1
    }

    /// Returns the image as `exif_transpose` leaves it for `orientation` (1 = unchanged).
    static func apply(_ orientation: Int, to image: RGBImage) -> RGBImage {
        guard (2...8).contains(orientation) else { return image }
        let w = image.width, h = image.height
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress, src.count == w * h * 3 else { return }
                _ = gl_rgb_orient(s, w, h, Int32(orientation), d)
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}

/// The TIFF structure of an EXIF block: byte order, the first IFD, and its 12-byte entries.
/// Every read is bounds-checked and a damaged structure reads as "not there".
struct TIFFBlock {
    let bytes: [UInt8]
    let little: Bool
    private(set) var firstIFD: Int

    init?(_ block: [UInt8]) {
        var b = block
        if b.count >= 6, Array(b.prefix(6)) == Array("Exif\0\0".utf8) { b.removeFirst(6) }
        guard b.count >= 8 else { return nil }
        switch (b[0], b[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        bytes = b
        firstIFD = 0
        guard u16(2) == 42, let ifd = u32(4) else { return nil }
        firstIFD = ifd
    }

    func u16(_ o: Int) -> Int? {
        guard o >= 0, o <= bytes.count - 2 else { return nil }
        return little ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : Int(bytes[o]) << 8 | Int(bytes[o + 1])
    }

    func u32(_ o: Int) -> Int? {
        guard let lo = u16(little ? o : o + 2), let hi = u16(little ? o + 2 : o) else { return nil }
        return hi << 16 | lo
    }

    /// The entry for `tag` in the IFD at `offset`: its type, count, and the offset of its
    /// 4-byte value field (which holds the value itself when it fits, else an offset to it).
    func entry(_ tag: Int, inIFDAt offset: Int) -> (type: Int, count: Int, valueOffset: Int)? {
        guard let count = u16(offset) else { return nil }
        for n in 0..<count {
            let entry = offset + 2 + 12 * n
            guard let t = u16(entry) else { return nil }
            if t == tag {
                guard let type = u16(entry + 2), let values = u32(entry + 4) else { return nil }
                return (type, values, entry + 8)
            }
        }
        return nil
    }
}

/// EXIF metadata a photo library keeps beside the pixels.
public enum ExifMetadata {
    /// DateTimeOriginal (tag 0x9003 in the Exif sub-IFD) of a JPEG or PNG file's EXIF block,
    /// as written ("YYYY:MM:DD HH:MM:SS"), or nil when absent or damaged.
    public static func dateTimeOriginal(fileBytes d: [UInt8]) -> String? {
        let block: [UInt8]?
        switch ImageFormat.sniff(Array(d.prefix(ImageDecoder.headerBytes))) {
        case .jpeg: block = ExifOrientation.exifBlock(jpeg: d)
        case .png: block = pngExif(d)
        default: block = nil
        }
        guard let block, let tiff = TIFFBlock(block),
              let pointer = tiff.entry(0x8769, inIFDAt: tiff.firstIFD), pointer.type == 4,
              let exifIFD = tiff.u32(pointer.valueOffset),
              let date = tiff.entry(0x9003, inIFDAt: exifIFD), date.type == 2,
              (11...64).contains(date.count), let start = tiff.u32(date.valueOffset),
              start >= 0, start <= tiff.bytes.count - date.count else { return nil }
        let text = tiff.bytes[start..<(start + date.count)].prefix { $0 != 0 }
        guard let string = String(validating: Array(text), as: UTF8.self),
              !string.trimmingCharacters(in: .whitespaces).isEmpty,
              string.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) else { return nil }
        return string
    }

    /// The payload of a PNG's `eXIf` chunk, found by walking chunk headers only.
    static func pngExif(_ d: [UInt8]) -> [UInt8]? {
        var i = 8
        while i <= d.count - 12 {
            let length = Int(d[i]) << 24 | Int(d[i + 1]) << 16 | Int(d[i + 2]) << 8 | Int(d[i + 3])
            let end = i + 12 + length
            guard end <= d.count else { return nil }
            let type = String(decoding: d[(i + 4)..<(i + 8)], as: UTF8.self)
            if type == "eXIf" { return Array(d[(i + 8)..<(i + 8 + length)]) }
            if type == "IEND" { return nil }
            i = end
        }
        return nil
    }
}
