import Foundation
import XCTest
@testable import Glimpse

/// The `.npy` writer against files NumPy itself wrote (Tools/fixtures/make_npy_fixtures.py):
/// byte for byte, header padding and float16 rounding included.
final class NPYWriterTests: XCTestCase {
    static let values: [Float] = [1.0, -2.5, 3.25, 0.1, 1e-8, 65504.0, 0.33333334, -0.0, 70000.0]

    func written(_ values: [Float], rows: Int, columns: Int, dtype: NPY.DType) throws -> [UInt8] {
        let folder = NSTemporaryDirectory() + "glimpse-npy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let staging = BulkStaging(folder: folder)
        try staging.reset()
        let file = try staging.create("a.npy")
        try NPY.write(values, rows: rows, columns: columns, dtype: dtype, to: file)
        _ = try staging.commit()
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/a.npy")))
    }

    func reference(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Fixtures.root.appendingPathComponent("npy/\(name)")))
    }

    func testFloat32MatchesNumPy() throws {
        XCTAssertEqual(try written(Self.values, rows: 3, columns: 3, dtype: .float32), try reference("matrix_f32.npy"))
    }

    func testFloat16MatchesNumPy() throws {
        XCTAssertEqual(try written(Self.values, rows: 3, columns: 3, dtype: .float16), try reference("matrix_f16.npy"))
    }

    func testEmptyMatchesNumPy() throws {
        XCTAssertEqual(try written([], rows: 0, columns: 4, dtype: .float32), try reference("empty_f32.npy"))
    }

    func testHeaderIsAlignedForEveryLength() throws {
        for rows in [0, 1, 9, 10, 99_999, 123_456_789_012] {
            let header = try NPY.header(dtype: .float16, shape: [rows, 768])
            XCTAssertEqual(header.count % 64, 0, "\(rows)")
            XCTAssertEqual(header.last, 0x0A)
        }
    }

    func testMismatchedShapeThrows() throws {
        XCTAssertThrowsError(try written([1, 2, 3], rows: 2, columns: 2, dtype: .float32))
        XCTAssertThrowsError(try NPY.header(dtype: .float32, shape: [-1, 2]))
    }
}
