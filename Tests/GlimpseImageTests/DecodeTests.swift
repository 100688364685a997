import Foundation
import GlimpseBase
@testable import GlimpseImage
import XCTest

final class DecodeTests: XCTestCase {
    /// Every fixture decodes to exactly what `exif_transpose(Image.open(p)).convert("RGB")`
    /// gives: real photos, palette/tRNS, gray, gray+alpha, RGBA, 16-bit, gAMA, CMYK, EXIF 1-8.
    func testDecodedPixelsMatchPillow() throws {
        let decoded = try XCTUnwrap(try Fixtures.reference()["decoded"] as? [String: [String: Any]])
        XCTAssertGreaterThan(decoded.count, 25)
        for (file, ref) in decoded.sorted(by: { $0.key < $1.key }) {
            let image = try ImageDecoder.decode(contentsOf: Fixtures.url(file))
            let result = compare(image, to: ref)
            XCTAssertTrue(result.sizeOK, "\(file): size \(image.width)x\(image.height)")
            XCTAssertTrue(result.exact, "\(file) (PIL mode \(ref["pil_mode"] ?? "?")) differs from Pillow; sampled max diff \(result.sampledMaxDiff)")
        }
    }

    func testExifOrientationsRotateAndFlip() throws {
        let upright = try ImageDecoder.decode(contentsOf: Fixtures.url("synthetic/exif_1.jpg"))
        let rotated = try ImageDecoder.decode(contentsOf: Fixtures.url("synthetic/exif_6.jpg"))
        XCTAssertEqual([rotated.width, rotated.height], [upright.height, upright.width])
        let bigEndian = try ImageDecoder.decode(contentsOf: Fixtures.url("synthetic/exif_6_bigendian.jpg"))
        XCTAssertEqual([bigEndian.width, bigEndian.height], [32, 48])
        // Bogus EXIF is ignored, never fatal.
        let bogus = try ImageDecoder.decode(contentsOf: Fixtures.url("synthetic/exif_bogus.jpg"))
        XCTAssertEqual([bogus.width, bogus.height], [48, 32])
        XCTAssertEqual(ExifOrientation.fromTIFF([0x49, 0x49, 0x2A]), 1)
        XCTAssertEqual(ExifOrientation.fromJPEG([0xFF, 0xD8, 0xFF, 0xE1, 0xFF]), 1)
    }

    func testBrokenAndUnsupportedFilesGiveErrorsNamingTheFile() throws {
        let cases: [(String, String)] = [
            ("synthetic/truncated.jpg", "truncated"), ("synthetic/truncated.png", "truncated"),
            ("synthetic/not_an_image.txt", "not a JPEG or PNG"), ("synthetic/tiny.gif", "GIF"),
            ("synthetic/tiny.tif", "TIFF"), ("synthetic/tiny.webp", "WebP"), ("synthetic/empty.jpg", "empty"),
        ]
        for (file, phrase) in cases {
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: Fixtures.url(file)), file) { error in
                guard case GlimpseError.invalidFile(let path, let reason)? = error as? GlimpseError else {
                    return XCTFail("\(file): \(error)")
                }
                XCTAssertTrue(path.hasSuffix(file), "\(path)")
                XCTAssertTrue(reason.contains(phrase), "\(file): \(reason)")
            }
        }
        let missing = Fixtures.url("synthetic/no_such_file.png")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: missing)) { error in
            XCTAssertEqual(error as? GlimpseError, .fileNotFound(path: missing.path, what: "image"))
        }
        // Garbage after valid magic bytes must fail cleanly too.
        for magic: [UInt8] in [[0xFF, 0xD8, 0xFF, 0xE0, 0, 2], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]] {
            XCTAssertThrowsError(try ImageDecoder.decode(data: magic + [UInt8](repeating: 7, count: 40), name: "junk"))
        }
    }

    func testPNGEncodeDecodeRoundTrip() throws {
        var image = RGBImage(width: 37, height: 11)
        for i in image.pixels.indices { image.pixels[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i / 7) }
        let bytes = try PNGEncoder.encode(image)
        XCTAssertEqual(try ImageDecoder.decode(data: bytes, name: "memory"), image)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-roundtrip-\(getpid()).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try PNGEncoder.write(image, to: url)
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: url), image)
    }
}
