import Foundation
import XCTest
@testable import GlimpseCore

/// Reads the PyTorch reference gradients written by Tools/fixtures/make_autodiff_fixtures.py
/// and compares tensors by relative error.
///
/// Relative error of `actual` against `expected`: max_i |actual_i − expected_i| / max_i |expected_i|
/// (the largest difference over the largest reference magnitude, so elements near zero are not
/// held to a tighter bound than the tensor as a whole); absolute when the reference is all zeros.
enum GradientParity {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/autodiff")

    static func fixture(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: folder.appendingPathComponent(name).path)
    }

    static func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
        precondition(actual.count == expected.count, "\(actual.count) values against \(expected.count)")
        var difference: Float = 0, scale: Float = 0
        for (a, e) in zip(actual, expected) {
            difference = max(difference, abs(a - e))
            scale = max(scale, abs(e))
        }
        return scale > 0 ? difference / scale : difference
    }

    static func assertClose(_ actual: Tensor?, _ expected: Tensor, _ what: String, tolerance: Float = 1e-4,
                            file: StaticString = #filePath, line: UInt = #line) {
        guard let actual else { return XCTFail("\(what): no gradient", file: file, line: line) }
        XCTAssertEqual(actual.count, expected.count, "\(what): \(actual.shape) vs \(expected.shape)", file: file, line: line)
        guard actual.count == expected.count else { return }
        let error = relativeError(actual.scalars, expected.scalars)
        print("gradient parity \(what): relative error \(error)")
        XCTAssertLessThanOrEqual(error, tolerance, "\(what): relative error \(error)", file: file, line: line)
    }
}
