import Foundation
import XCTest
@testable import Glimpse

/// The `.npy` reader on files NumPy itself wrote (Tools/fixtures/make_npy_fixtures.py).
final class NPYReaderTests: XCTestCase {
    func fixture(_ name: String) -> String { Fixtures.root.appendingPathComponent("npy/\(name)").path }

    func testReadsNumPyFloat32() throws {
        let matrix = try NPY.Matrix(path: fixture("matrix_f32.npy"))
        XCTAssertEqual([matrix.rows, matrix.columns], [3, 3])
        XCTAssertEqual(matrix.dtype, .float32)
        XCTAssertEqual((0 ..< 3).flatMap { matrix.row($0) }, NPYWriterTests.values)
        XCTAssertEqual(matrix.row(3), [])
    }

    func testReadsNumPyFloat16Exactly() throws {
        let matrix = try NPY.Matrix(path: fixture("matrix_f16.npy"))
        XCTAssertEqual(matrix.dtype, .float16)
        // NumPy's astype(float16), widened: Swift's own Float16 conversion is the reference.
        let expected = NPYWriterTests.values.map { Float(Float16($0)) }
        let got = (0 ..< 3).flatMap { matrix.row($0) }
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testHalfConversionCoversEveryPattern() {
        for bits in UInt16.min ... UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = NPY.float(half: bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN); continue }
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "half \(bits)")
        }
    }

    func testReadsEmpty() throws {
        let matrix = try NPY.Matrix(path: fixture("empty_f32.npy"))
        XCTAssertEqual([matrix.rows, matrix.columns], [0, 4])
    }
}
