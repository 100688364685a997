import Foundation
import XCTest
@testable import GlimpseText

/// Every code point of planes 0–3 and 14 against what `tokenizers` does to it alone: the Swift
/// runtime's case mappings, decompositions and White_Space must agree with the reference's.
final class WordPieceUnicodeTests: XCTestCase {
    private struct Reference: Decodable {
        let ranges: [[UInt32]]
        let whitespace: [UInt32]
        let lower: [String: [UInt32]]
        let strip: [String: [UInt32]]
    }

    private func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: WordPieceFixtures.unicodeURL))
    }

    private func codePoints(_ reference: Reference) -> [Unicode.Scalar] {
        reference.ranges.flatMap { $0[0]..<$0[1] }.compactMap(Unicode.Scalar.init)
    }

    func testLowercaseMatchesEveryCodePoint() throws {
        let reference = try reference()
        var mismatches: [String] = []
        for scalar in codePoints(reference) {
            let expected = reference.lower[String(scalar.value, radix: 16)] ?? [scalar.value]
            let actual = BertNormalizer.lowercase([scalar]).map(\.value)
            if actual != expected { mismatches.append("U+\(String(scalar.value, radix: 16)): \(actual) vs \(expected)") }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) differ: " + mismatches.prefix(10).joined(separator: ", "))
    }

    func testAccentStrippingMatchesEveryCodePoint() throws {
        let reference = try reference()
        var mismatches: [String] = [], checked = 0
        for scalar in codePoints(reference) {
            let actual = BertNormalizer.stripAccents([scalar]).map(\.value)
            if let expected = reference.strip[String(scalar.value, radix: 16)] {
                checked += 1
                if actual != expected { mismatches.append("U+\(String(scalar.value, radix: 16)): \(actual) vs \(expected)") }
            } else if !(0xAC00...0xD7A3).contains(scalar.value) {
                // Absent: unchanged, or a nonspacing mark removed whole.
                let expected = BertCharacter.isNonspacingMark(scalar) ? [] : [scalar.value]
                if actual != expected { mismatches.append("U+\(String(scalar.value, radix: 16)): \(actual) vs \(expected)") }
            }
        }
        XCTAssertGreaterThan(checked, 2000)
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) differ: " + mismatches.prefix(10).joined(separator: ", "))
    }

    func testWhitespaceMatchesEveryCodePoint() throws {
        let reference = try reference()
        let expected = Set(reference.whitespace)
        var mismatches: [String] = []
        for scalar in codePoints(reference) where scalar != " " {
            let normalized = BertNormalizer(handleChineseCharacters: false, stripAccents: false, lowercase: false)
                .normalize(["a", scalar, "b"])
            let becomesSpace = normalized == ["a", " ", "b"]
            if becomesSpace != expected.contains(scalar.value) { mismatches.append("U+\(String(scalar.value, radix: 16))") }
        }
        XCTAssertTrue(mismatches.isEmpty, mismatches.prefix(10).joined(separator: ", "))
    }
}
