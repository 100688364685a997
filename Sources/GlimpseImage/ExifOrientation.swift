/// EXIF orientation (IFD0 tag 0x0112), applied like `PIL.ImageOps.exif_transpose`, which
/// Hugging Face's `load_image` calls: phone photos are stored sideways with this tag.
///
/// The parser reads only what it needs and treats any truncated or bogus structure as
/// "no orientation" (1), as Pillow does when its EXIF reader gives up.
enum ExifOrientation {
    /// Finds the first APP1 "Exif" segment of a JPEG and returns its orientation (1...8).
    static func fromJPEG(_ d: [UInt8]) -> Int {
        var i = 2  // after SOI
        while i + 4 <= d.count {
            guard d[i] == 0xFF else { return 1 }
            let marker = d[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return 1 }  // image data starts: no EXIF before it
            let length = Int(d[i + 2]) << 8 | Int(d[i + 3])
            guard length >= 2, i + 2 + length <= d.count else { return 1 }
            let body = i + 4, end = i + 2 + length
            if marker == 0xE1, end - body >= 6, Array(d[body..<body + 6]) == Array("Exif\0\0".utf8) {
                return fromTIFF(Array(d[(body + 6)..<end]))
            }
            i = end
        }
        return 1
    }

    /// Reads the orientation from a TIFF-structured EXIF block (PNG `eXIf` chunks hold one
    /// directly; some writers prefix it with "Exif\0\0").
    static func fromTIFF(_ block: [UInt8]) -> Int {
        var t = block[...]
        if t.count >= 6, Array(t.prefix(6)) == Array("Exif\0\0".utf8) { t = t.dropFirst(6) }
        let b = Array(t)
        guard b.count >= 8 else { return 1 }
        let little: Bool
        switch (b[0], b[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return 1
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= b.count else { return nil }
            return little ? Int(b[o]) | Int(b[o + 1]) << 8 : Int(b[o]) << 8 | Int(b[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let lo = u16(little ? o : o + 2), let hi = u16(little ? o + 2 : o) else { return nil }
            return hi << 16 | lo
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return 1 }
        for n in 0..<count {
            let entry = ifd + 2 + 12 * n
            guard let tag = u16(entry) else { return 1 }
            if tag == 0x0112 {
                // SHORT (3) is the only type the standard allows; accept LONG too, like Pillow.
                guard let type = u16(entry + 2) else { return 1 }
                let value: Int?
                switch type {
                case 3: value = u16(entry + 8)
                case 4: value = u32(entry + 8)
                default: value = nil
                }
                if let v = value, (1...8).contains(v) { return v }
                return 1
            }
        }
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
                for y in 0..<oh {
                    for x in 0..<ow {
                        // Source pixel for output (x, y), per Pillow's Image.Transpose member.
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (w - 1 - x, y)          // FLIP_LEFT_RIGHT
                        case 3: (sx, sy) = (w - 1 - x, h - 1 - y)  // ROTATE_180
                        case 4: (sx, sy) = (x, h - 1 - y)          // FLIP_TOP_BOTTOM
                        case 5: (sx, sy) = (y, x)                  // TRANSPOSE
                        case 6: (sx, sy) = (y, h - 1 - x)          // ROTATE_270 (clockwise)
                        case 7: (sx, sy) = (w - 1 - y, h - 1 - x)  // TRANSVERSE
                        default: (sx, sy) = (w - 1 - y, x)         // 8: ROTATE_90 (anticlockwise)
                        }
                        let s = (sy * w + sx) * 3, d = (y * ow + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
