import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseText

/// Context-length handling, concurrency, and a printed throughput figure.
final class CLIPTokenizerBehaviourTests: XCTestCase {
    private let long = String(repeating: "a photo of a very long caption ", count: 20)

    func testTruncationKeepsEndOfTextLast() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        let full = [tokenizer.startOfText] + tokenizer.encode(long) + [tokenizer.endOfText]
        XCTAssertGreaterThan(full.count, 77)
        for length in [2, 3, 10, 77] {
            let ids = try tokenizer.tokenize(long, contextLength: length, truncate: true)
            XCTAssertEqual(ids.count, length)
            XCTAssertEqual(ids.last, tokenizer.endOfText)
            XCTAssertEqual(ids.first, tokenizer.startOfText)
            XCTAssertEqual(Array(ids.dropLast()), Array(full.prefix(length - 1)))
        }
        // Short text: unpadded, identical with or without truncation.
        XCTAssertEqual(try tokenizer.tokenize("a cat", truncate: true), [49406, 320, 2368, 49407])
        XCTAssertEqual(try tokenizer.tokenize("a cat", contextLength: 4), [49406, 320, 2368, 49407])
    }

    func testTooLongThrowsTextTooLong() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        XCTAssertThrowsError(try tokenizer.tokenize(long)) { error in
            guard case let .textTooLong(text, tokens, limit)? = error as? GlimpseError else { return XCTFail("\(error)") }
            XCTAssertEqual(text, self.long)
            XCTAssertEqual(tokens, tokenizer.encode(self.long).count + 2)
            XCTAssertEqual(limit, 77)
        }
        XCTAssertThrowsError(try tokenizer.tokenize("a cat", contextLength: 3))
    }

    func testContextLengthBelowTwoIsInvalid() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        for length in [-5, 0, 1] {
            XCTAssertThrowsError(try tokenizer.tokenize("a", contextLength: length, truncate: true)) { error in
                guard case .invalidArgument? = error as? GlimpseError else { return XCTFail("\(error)") }
            }
        }
    }

    func testHostileInputDoesNotTrap() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        let inputs = [String(repeating: "abcdefghij", count: 2000), String(repeating: "&amp;", count: 500) + "<",
                      String(repeating: "\u{301}", count: 300), "&#99999999999999999999999999;", "&#x110000;",
                      String(repeating: "\u{1b}[", count: 100), String(repeating: "ΣΑΣ ", count: 50)]
        for text in inputs {
            _ = try tokenizer.tokenize(text, truncate: true)
            _ = tokenizer.decode(tokenizer.encode(text))
        }
    }

    func testConcurrentUseAgreesWithSerial() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        let texts = try TokenizerFixtures.corpus().prefix(200).map(\.text)
        let serial = texts.map { tokenizer.encode($0) }
        let results = UnsafeResults(count: texts.count)
        DispatchQueue.concurrentPerform(iterations: texts.count) { index in
            results.set(index, tokenizer.encode(texts[index]))
        }
        XCTAssertEqual(results.values, serial)
    }
}

/// Result slots written from `concurrentPerform`, one index per thread.
private final class UnsafeResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [[Int]]
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ index: Int, _ value: [Int]) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
}
