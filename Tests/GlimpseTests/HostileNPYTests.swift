import Foundation
import XCTest
@testable import Glimpse

/// Damaged and hostile `.npy` files: each is refused with an error naming the file and what
/// is wrong, never read short, never a crash or a huge allocation.
final class HostileNPYTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "glimpse-hostile-npy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// A version-1 file: magic, version, header length (or `length`), `dict`, then `data`.
    func file(_ dict: String, data: [UInt8] = [], length: Int? = nil, magic: [UInt8] = NPY.magic, version: [UInt8] = [1, 0]) throws -> String {
        let header = Array(dict.utf8)
        let n = length ?? header.count
        let bytes = magic + version + [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF)] + header + data
        let path = folder + "/\(UUID().uuidString).npy"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func dict(descr: String = "<f4", fortran: String = "False", shape: String = "(2, 3)") -> String {
        "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }\n"
    }

    func assertRefused(_ path: String, _ words: String, line: UInt = #line) {
        XCTAssertThrowsError(try NPY.Matrix(path: path), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(path), "error does not name the file: \(text)", line: line)
            XCTAssertTrue(text.contains(words), "expected '\(words)' in: \(text)", line: line)
        }
    }

    func testWellFormedFileIsRead() throws {
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let data = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let matrix = try NPY.Matrix(path: try file(dict(), data: data))
        XCTAssertEqual(matrix.row(1), [4, 5, 6])
    }

    func testBadMagic() throws {
        assertRefused(try file(dict(), data: [UInt8](repeating: 0, count: 24), magic: Array("PK\u{3}\u{4}ZZ".utf8)), "magic")
    }

    func testEmptyFile() throws {
        let path = folder + "/empty.npy"
        FileManager.default.createFile(atPath: path, contents: Data())
        assertRefused(path, "magic")
    }

    func testUnknownVersion() throws {
        assertRefused(try file(dict(), data: [UInt8](repeating: 0, count: 24), version: [9, 0]), "version 9")
    }

    func testHugeHeaderLength() throws {
        // Version 2 has a 4-byte length: claim 4 GiB of header in a tiny file.
        let bytes = NPY.magic + [2, 0, 0xFF, 0xFF, 0xFF, 0xFF] + Array(dict().utf8)
        let path = folder + "/huge.npy"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertRefused(path, "header")
    }

    func testHeaderLongerThanFile() throws {
        assertRefused(try file(dict(), length: 9000), "truncated")
    }

    func testShapeOverflow() throws {
        assertRefused(try file(dict(shape: "(9223372036854775807, 4096)")), "overflows")
        assertRefused(try file(dict(shape: "(99999999999999999999999, 2)")), "64 bits")
    }

    func testWrongDtype() throws {
        assertRefused(try file(dict(descr: "<f8"), data: [UInt8](repeating: 0, count: 48)), "'<f8'")
        assertRefused(try file(dict(descr: ">f4"), data: [UInt8](repeating: 0, count: 24)), "'>f4'")
        assertRefused(try file(dict(descr: "|O"), data: [UInt8](repeating: 0, count: 24)), "'|O'")
    }

    func testFortranOrderAndOtherRanks() throws {
        assertRefused(try file(dict(fortran: "True"), data: [UInt8](repeating: 0, count: 24)), "Fortran")
        assertRefused(try file(dict(shape: "(24,)"), data: [UInt8](repeating: 0, count: 96)), "1-dimensional")
        assertRefused(try file(dict(shape: "(2, 3, 4)"), data: [UInt8](repeating: 0, count: 96)), "3-dimensional")
    }

    func testTruncatedAndPaddedData() throws {
        assertRefused(try file(dict(), data: [UInt8](repeating: 0, count: 23)), "truncated")
        assertRefused(try file(dict(), data: [UInt8](repeating: 0, count: 25)), "has")
    }

    func testMalformedDicts() throws {
        for text in ["not a dict", "{'descr': '<f4', 'shape': (2, 3), }", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
                     "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "{'descr: '<f4'",
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }"] {
            assertRefused(try file(text, data: [UInt8](repeating: 0, count: 24)), "header")
        }
    }
}
