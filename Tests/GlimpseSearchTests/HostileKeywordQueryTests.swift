import Foundation
import XCTest
@testable import GlimpseSearch

/// What a user types into a keyword or hybrid search is taken as words: FTS5 syntax, quotes,
/// control characters and sheer size never reach SQLite as query syntax or fail the search.
final class HostileKeywordQueryTests: XCTestCase {
    static let hostile: [String] = [
        "\"", "\"\"", "\"dog", "dog\"", "*", "dog*", "NEAR(", "NEAR(a b", "NEAR(a b, 2)", "OR", "AND", "NOT", "a OR", "OR b",
        "-", "-dog", "^a", "+", "text:dog", "{text}: dog", "(", ")", "(a", "a)", "'", "';DROP TABLE captions;--", "\\",
        "\u{0}", "a\u{0}b", "\u{0}\"\u{0}", "\u{FEFF}", "🐶 dog", "a\"b\"c", ":", ".", "…", "\t\n",
        String(repeating: "x", count: 10_000), String(repeating: "a ", count: 5_000), String(repeating: "\"", count: 10_000),
        String(repeating: "NEAR(", count: 2_000), (0 ..< 3_000).map { "w\($0)" }.joined(separator: " OR "),
    ]

    func testHostileKeywordQueriesAreWords() throws {
        for text in Self.hostile {
            let query = KeywordQuery(text)
            XCTAssertLessThanOrEqual(query.words.count, Limits.keywordQueryWords)
            for word in query.words {
                XCTAssertTrue(word.allSatisfy { $0.isLetter || $0.isNumber }, word)
                XCTAssertLessThanOrEqual(word.unicodeScalars.count, Limits.keywordWordScalars)
            }
            if let expression = query.expression {
                XCTAssertEqual(expression, query.words.map { "\"\($0)\"" }.joined(separator: " OR "))
            }
        }
        XCTAssertNil(KeywordQuery("\"*-^()").expression)
        XCTAssertEqual(KeywordQuery("NEAR(dog OR cat)").words, ["NEAR", "dog", "OR", "cat"])
    }

    func testHostileTextsSearchWithoutErrors() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        for i in 0 ..< 3 { try LibraryFixtures.writePhoto(photos, "p\(i).png", seed: UInt64(700 + i)) }
        let library = try PhotoLibrary(folder: root + "/library", create: true)
        _ = try CaptionFixtures.index(library, [photos])
        let snapshot = try library.snapshot()
        let clip = try LibraryFixtures.clip()
        for text in Self.hostile {
            let keyword = try library.search(SearchQuery(text: text, top: 5), mode: .keyword, snapshot: snapshot, clip: nil)
            XCTAssertLessThanOrEqual(keyword.count, 3)
            // Hybrid embeds the text with CLIP too; texts CLIP refuses are not this test's subject.
            guard (try? clip.embed(texts: [text])) != nil else { continue }
            let hybrid = try library.search(SearchQuery(text: text, top: 5), mode: .hybrid, snapshot: snapshot, clip: clip)
            XCTAssertEqual(hybrid.count, 3, "every photo ranks semantically")
        }
        XCTAssertEqual(try CaptionFixtures.captionCount(library), 3, "the captions are intact")
    }
}
