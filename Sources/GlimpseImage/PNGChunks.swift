/// Rewrites a PNG's chunk list before libpng sees it, so libpng's simplified API returns the
/// raw samples that Pillow returns.
///
/// Pillow ignores gAMA/sRGB/iCCP/cHRM and `convert("RGB")` ignores tRNS, while libpng's
/// simplified reader would gamma-correct or composite with them. Dropping every ancillary
/// chunk (and keeping the critical ones) removes those differences and also sidesteps
/// libpng errors on damaged metadata that Pillow tolerates. The `eXIf` chunk is returned
/// separately because `exif_transpose` honours it for PNGs too.
struct PNGChunks {
    /// IHDR fields that decide how the samples are read.
    var width = 0, height = 0, bitDepth = 0, colorType = 0
    /// The filtered file: signature, critical chunks only.
    var stripped: [UInt8] = []
    /// The raw `eXIf` payload, if any.
    var exif: [UInt8]?

    /// Parses the chunk structure, keeping critical chunks and noting IHDR and eXIf.
    init(_ d: [UInt8]) throws(PNGChunkError) {
        var i = 8
        stripped.reserveCapacity(d.count)
        stripped.append(contentsOf: d[0..<8])
        var sawIHDR = false
        while i + 12 <= d.count {
            let length = Int(d[i]) << 24 | Int(d[i + 1]) << 16 | Int(d[i + 2]) << 8 | Int(d[i + 3])
            let type = Array(d[(i + 4)..<(i + 8)])
            let end = i + 12 + length
            guard length >= 0, end <= d.count else { throw .truncated }
            let name = String(decoding: type, as: UTF8.self)
            // IHDR comes first and only once (later code edits it at its fixed offset).
            guard (name == "IHDR") == (i == 8) else { throw .malformed(i == 8 ? "the first chunk is \(name), not IHDR" : "a second IHDR chunk") }
            if name == "IHDR" {
                guard length == 13 else { throw .malformed("IHDR has length \(length)") }
                let p = i + 8
                width = Int(d[p]) << 24 | Int(d[p + 1]) << 16 | Int(d[p + 2]) << 8 | Int(d[p + 3])
                height = Int(d[p + 4]) << 24 | Int(d[p + 5]) << 16 | Int(d[p + 6]) << 8 | Int(d[p + 7])
                bitDepth = Int(d[p + 8])
                colorType = Int(d[p + 9])
                sawIHDR = true
            }
            if name == "eXIf" { exif = Array(d[(i + 8)..<(i + 8 + length)]) }
            let critical = type[0] & 0x20 == 0
            if critical { stripped.append(contentsOf: d[i..<end]) }
            i = end
            if name == "IEND" { break }
        }
        guard sawIHDR else { throw .malformed("no IHDR chunk") }
        guard stripped.suffix(8) == [0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82] else { throw .truncated }
    }

    /// Relabels a 16-bit gray+alpha file as 8-bit RGBA of the same width. Both have 4 bytes
    /// per pixel, so scanline filtering and interlacing are unchanged, and the simplified
    /// reader then hands back the big-endian bytes verbatim: (L high, L low, A high, A low).
    /// That avoids its 16-bit path, which premultiplies by alpha.
    mutating func relabelGrayAlpha16AsRGBA8() {
        // IHDR is always the first chunk: signature (8) + length (4) + type (4) + 13 bytes.
        stripped[16 + 8] = 8
        stripped[16 + 9] = 6
        let crc = CRC32.checksum(stripped[12..<(12 + 4 + 13)])
        stripped[29] = UInt8(crc >> 24); stripped[30] = UInt8((crc >> 16) & 0xFF)
        stripped[31] = UInt8((crc >> 8) & 0xFF); stripped[32] = UInt8(crc & 0xFF)
    }
}

enum PNGChunkError: Error {
    case truncated
    case malformed(String)
}

/// The PNG/zlib CRC-32, needed to re-sign an edited IHDR.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
