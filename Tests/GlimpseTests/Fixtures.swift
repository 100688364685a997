import Foundation
import XCTest
@testable import Glimpse

/// Locates committed fixtures and compares float arrays with stated tolerances.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent(relative))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

extension Dictionary where Key == String, Value == Any {
    func floats(_ key: String) throws -> [Float] {
        try XCTUnwrap(self[key] as? [NSNumber], "fixture has no '\(key)'").map { $0.floatValue }
    }
    func ints(_ key: String) throws -> [Int] {
        try XCTUnwrap(self[key] as? [NSNumber], "fixture has no '\(key)'").map { $0.intValue }
    }
    func idLists(_ key: String) throws -> [[Int]] {
        try XCTUnwrap(self[key] as? [[NSNumber]], "fixture has no '\(key)'").map { $0.map(\.intValue) }
    }
}

/// Asserts max |a − b| ≤ `abs` and, per row of width `row`, max |a − b| ≤ `relative` · ‖b_row‖.
func assertClose(_ actual: [Float], _ expected: [Float], abs tolerance: Float, relative: Float? = nil, row: Int? = nil,
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst: Float = 0, at = 0
    for i in actual.indices where Swift.abs(actual[i] - expected[i]) > worst || actual[i].isNaN {
        worst = actual[i].isNaN ? .infinity : Swift.abs(actual[i] - expected[i]); at = i
    }
    print("parity \(what): max abs error \(worst) (tolerance \(tolerance))")
    XCTAssertLessThanOrEqual(worst, tolerance, "\(what): max abs error \(worst) at \(at) (\(actual[at]) vs \(expected[at]))", file: file, line: line)
    if let relative, let row {
        for start in stride(from: 0, to: expected.count, by: row) {
            let slice = start ..< start + row
            let norm = slice.map { expected[$0] * expected[$0] }.reduce(0, +).squareRoot()
            let err = slice.map { Swift.abs(actual[$0] - expected[$0]) }.max() ?? 0
            XCTAssertLessThanOrEqual(err, relative * norm, "\(what): row \(start / row) error \(err) vs norm \(norm)", file: file, line: line)
        }
    }
}
