import Foundation
import GlimpseBase
@testable import GlimpseImage
import XCTest

/// Image files a careless user or an attacker could hand over: not regular files, far too
/// big, lying about their size, or damaged anywhere. Each is an error naming the file and
/// the cause; nothing hangs, traps or reads a huge file whole.
final class HostileImageFileTests: XCTestCase {
    private func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func assertInvalid(_ path: String, _ phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path)), file: file, line: line) { error in
            guard case GlimpseError.invalidFile(let at, let reason)? = error as? GlimpseError else {
                return XCTFail("\(path): \(error)", file: file, line: line)
            }
            XCTAssertEqual(at, path, file: file, line: line)
            XCTAssertTrue(reason.contains(phrase), "\(path): \(reason)", file: file, line: line)
        }
    }

    /// A FIFO would block the read forever (and was reported as a permission problem); devices
    /// never end; a folder is not an image. All are refused before any read.
    func testFIFODevicesAndFoldersAreRefusedUnread() throws {
        let folder = try temporaryFolder()
        let fifo = folder.appendingPathComponent("photo.jpg").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        assertInvalid(fifo, "FIFO")
        assertInvalid("/dev/zero", "character device")
        assertInvalid("/dev/urandom", "character device")
        assertInvalid(folder.path, "is a directory, not an image")
    }

    /// An 8 GB (sparse) file named .jpg is refused by its size, without reading it.
    func testHugeFileIsRefusedBySize() throws {
        let path = try temporaryFolder().appendingPathComponent("huge.jpg").path
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let magic: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        XCTAssertEqual(write(fd, magic, 4), 4)
        XCTAssertEqual(ftruncate(fd, 8 << 30), 0)
        close(fd)
        let start = Date()
        assertInvalid(path, "more than the \(Limits.imageFileBytes) bytes an image may have")
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    /// A large file that is no image is refused by its first bytes; only they are read.
    func testContentIsSniffedBeforeTheFileIsRead() throws {
        let path = try temporaryFolder().appendingPathComponent("big.png").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("GIF89a".utf8)))
        XCTAssertEqual(truncate(path, off_t(Limits.imageFileBytes)), 0)
        assertInvalid(path, "GIF")
    }

    /// A minimal PNG: signature, then the given chunks (CRCs are not checked before libpng).
    private func png(_ chunks: [(String, [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        for (type, body) in chunks {
            let n = UInt32(body.count)
            bytes += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + Array(type.utf8) + body
            let crc = CRC32.checksum(Array(type.utf8) + body)
            bytes += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        }
        return bytes
    }

    private func ihdr(_ width: UInt32, _ height: UInt32) -> (String, [UInt8]) {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        return ("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0])
    }

    private func assertDataInvalid(_ data: [UInt8], _ phrase: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageDecoder.decode(data: data, name: "hostile"), file: file, line: line) { error in
            guard case GlimpseError.invalidFile("hostile", let reason)? = error as? GlimpseError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertTrue(reason.contains(phrase), reason, file: file, line: line)
        }
    }

    func testPNGHeadersThatLieAreRefused() {
        let end = ("IEND", [UInt8]())
        // Declared sizes: a side beyond the limit (PNG allows 2^31 - 1), too many pixels, zero.
        assertDataInvalid(png([ihdr(0x7FFF_FFFF, 1), end]), "a side longer than the \(Limits.imageSide)")
        assertDataInvalid(png([ihdr(60_000, 60_000), end]), "more than \(Limits.imagePixels) pixels")
        assertDataInvalid(png([ihdr(0, 5), end]), "invalid dimensions")
        // A chunk length near 2^32 runs past the end of the file.
        var huge = png([ihdr(4, 4)])
        huge += [0xFF, 0xFF, 0xFF, 0xF0] + Array("IDAT".utf8) + [UInt8](repeating: 0, count: 16)
        assertDataInvalid(huge, "truncated")
        // IHDR must be first, and only once: the decoder edits it at its fixed place.
        assertDataInvalid(png([("PLTE", [0, 0, 0]), ihdr(4, 4), end]), "not IHDR")
        assertDataInvalid(png([ihdr(4, 4), ihdr(8, 8), end]), "second IHDR")
        assertDataInvalid(png([end]), "not IHDR")
    }

    func testJPEGDeclaringHugeDimensionsIsRefused() throws {
        var jpeg = [UInt8](try Data(contentsOf: Fixtures.url("synthetic/exif_6.jpg")))
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x75, 0x30, 0x75, 0x30])  // 30000×30000
        assertDataInvalid(jpeg, "more than \(Limits.imagePixels) pixels")
    }

    /// A progressive file may hold `Limits.jpegScans` scans (the fixture at the limit decodes
    /// exactly as PIL, see DecodeTests) but not one more: each scan walks every block, so a
    /// few kilobytes of tiny scans over a 169-megapixel header would otherwise take minutes.
    func testProgressiveScanCountIsBounded() throws {
        var jpeg = [UInt8](try Data(contentsOf: Fixtures.url("synthetic/scans_over_limit.jpg")))
        assertDataInvalid(jpeg, "more than \(Limits.jpegScans) scans")
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC2 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x32, 0xC8, 0x32, 0xC8])  // 13000×13000
        assertDataInvalid(jpeg, "more than \(Limits.jpegScans) scans")
        XCTAssertNoThrow(try ImageDecoder.decode(contentsOf: Fixtures.url("synthetic/progressive_scans_at_limit.jpg")))
    }

    /// Running out of data stops the decoder where it happens, as in PIL, rather than after
    /// filling in the rest of a huge declared image.
    func testTruncatedHugeJPEGFailsAtTheEndOfItsData() throws {
        var jpeg = [UInt8](try Data(contentsOf: Fixtures.url("synthetic/exif_6.jpg")))
        let sof = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x32, 0xC8, 0x32, 0xC8])  // 13000×13000
        let sos = try XCTUnwrap((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        assertDataInvalid(Array(jpeg[..<(sos + 40)]), "Premature end of JPEG file")
    }

    /// EXIF directories whose offsets and counts point anywhere give "no orientation".
    func testHostileEXIFIsIgnored() {
        func tiff(_ ifd: UInt32, _ count: UInt16, _ tail: [UInt8] = []) -> [UInt8] {
            [0x49, 0x49, 0x2A, 0x00, UInt8(ifd & 0xFF), UInt8((ifd >> 8) & 0xFF), UInt8((ifd >> 16) & 0xFF), UInt8(ifd >> 24),
             UInt8(count & 0xFF), UInt8(count >> 8)] + tail
        }
        XCTAssertEqual(ExifOrientation.fromTIFF(tiff(0xFFFF_FFFF, 1)), 1)
        XCTAssertEqual(ExifOrientation.fromTIFF(tiff(8, 0xFFFF)), 1)
        XCTAssertEqual(ExifOrientation.fromTIFF(tiff(8, 1, [0x12, 0x01, 0x03, 0x00, 1, 0, 0, 0, 0xFF])), 1)
        XCTAssertEqual(ExifOrientation.fromTIFF(tiff(8, 1, [0x12, 0x01, 0x04, 0x00, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])), 1)
        XCTAssertEqual(ExifOrientation.fromTIFF(tiff(8, 1, [0x12, 0x01, 0x03, 0x00, 1, 0, 0, 0, 6, 0, 0, 0])), 6)
        XCTAssertEqual(ExifOrientation.fromJPEG([0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF] + Array("Exif\0\0".utf8)), 1)
        XCTAssertEqual(ExifOrientation.fromJPEG([0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00]), 1)
    }

    /// Every prefix of real files, and bytes flipped throughout, decode or fail with an error
    /// naming the file: never a trap.
    func testTruncatedAndCorruptedFilesFailCleanly() throws {
        for name in ["synthetic/exif_6.jpg", "synthetic/rgba8.png", "synthetic/gray_alpha16.png", "synthetic/palette_trns.png"] {
            let bytes = [UInt8](try Data(contentsOf: Fixtures.url(name)))
            for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
                do { _ = try ImageDecoder.decode(data: Array(bytes[0..<length]), name: name) } catch let error as GlimpseError {
                    guard case .invalidFile(name, _) = error else { return XCTFail("\(name)[..<\(length)]: \(error)") }
                }
            }
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<200 {
                var damaged = bytes
                for _ in 0..<4 { damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
                do { _ = try ImageDecoder.decode(data: damaged, name: name) } catch let error as GlimpseError {
                    guard case .invalidFile(name, _) = error else { return XCTFail("\(name): \(error)") }
                }
            }
        }
    }
}
