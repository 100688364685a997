import XCTest
@testable import GlimpseText

/// Ids and decoded text against the Python references on the seeded corpus.
final class CLIPTokenizerParityTests: XCTestCase {
    func testIdsMatchOpenAIOnCorpus() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        let corpus = try TokenizerFixtures.corpus()
        XCTAssertGreaterThanOrEqual(corpus.count, 1000)
        var checked = 0, skipped: [String] = [], mismatches: [String] = []
        for entry in corpus {
            // ftfy's mojibake repair is documented as out of scope.
            if entry.needs_fix_encoding { skipped.append(visible(entry.text)); continue }
            checked += 1
            let ids = [tokenizer.startOfText] + tokenizer.encode(entry.text) + [tokenizer.endOfText]
            if ids != entry.ids {
                mismatches.append("\"\(visible(entry.text))\"\n  expected \(entry.ids)\n  got      \(ids)")
            }
        }
        print("OpenAI parity: \(checked - mismatches.count)/\(checked) corpus strings identical; \(skipped.count) skipped (need ftfy.fix_encoding): \(skipped)")
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(checked) differ; first ones:\n" + mismatches.prefix(5).joined(separator: "\n"))
    }

    func testIdsMatchHuggingFaceWhereFtfyIsIdle() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        var checked = 0, mismatches: [String] = []
        for entry in try TokenizerFixtures.corpus() where !entry.ftfy_changes && entry.hf_ids == entry.ids {
            checked += 1
            let ids = try tokenizer.tokenize(entry.text, contextLength: Int.max)
            if ids != entry.hf_ids { mismatches.append("\"\(visible(entry.text))\": \(ids) vs HF \(entry.hf_ids)") }
        }
        print("Hugging Face parity: \(checked - mismatches.count)/\(checked) strings identical")
        XCTAssertGreaterThan(checked, 300)
        XCTAssertTrue(mismatches.isEmpty, mismatches.prefix(5).joined(separator: "\n"))
    }

    func testDecodeMatchesOpenAI() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        var checked = 0, mismatches: [String] = []
        for entry in try TokenizerFixtures.corpus() {
            guard let ids = entry.decode_ids, let expected = entry.decode else { continue }
            checked += 1
            let text = tokenizer.decode(ids)
            if text != expected { mismatches.append("\(ids): \"\(visible(text))\" vs \"\(visible(expected))\"") }
        }
        print("decode parity: \(checked - mismatches.count)/\(checked) identical")
        XCTAssertGreaterThan(checked, 200)
        XCTAssertTrue(mismatches.isEmpty, mismatches.prefix(5).joined(separator: "\n"))
    }

    func testDecodeKeepsSpecialTokensAndSkipsUnknownIds() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        let ids = try tokenizer.tokenize("a photo of a cat.")
        XCTAssertEqual(tokenizer.decode(ids), "<|startoftext|>a photo of a cat . <|endoftext|>")
        XCTAssertEqual(tokenizer.decode([-1, 1_000_000] + ids.dropFirst().dropLast()), "a photo of a cat . ")
    }

    func testKnownIds() throws {
        let tokenizer = try TokenizerFixtures.tokenizer()
        XCTAssertEqual(tokenizer.startOfText, 49406)
        XCTAssertEqual(tokenizer.endOfText, 49407)
        XCTAssertEqual(tokenizer.vocabularySize, 49408)
        XCTAssertEqual(tokenizer.encode("a photo of a cat"), [320, 1125, 539, 320, 2368])
        XCTAssertEqual(tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.encode(" \t\n "), [])
    }
}
