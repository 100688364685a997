import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseText

/// Ids, tokens and decoded text against transformers' BertTokenizer on the seeded corpus.
final class WordPieceParityTests: XCTestCase {
    func testIdsMatchOnCorpus() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        let corpus = try WordPieceFixtures.corpus()
        XCTAssertGreaterThanOrEqual(corpus.count, 1000)
        var mismatches: [String] = []
        for entry in corpus {
            let ids = try tokenizer.encode(entry.text)
            if ids != entry.ids {
                mismatches.append("\"\(visible(entry.text))\"\n  expected \(entry.ids)\n  got      \(ids)")
            }
        }
        print("WordPiece parity: \(corpus.count - mismatches.count)/\(corpus.count) corpus strings give identical ids")
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(corpus.count) differ; first ones:\n" + mismatches.prefix(5).joined(separator: "\n"))
    }

    func testTokensMatchOnCorpus() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        var mismatches: [String] = []
        let corpus = try WordPieceFixtures.corpus()
        for entry in corpus where tokenizer.tokens(entry.text) != entry.tokens {
            mismatches.append("\"\(visible(entry.text))\": \(tokenizer.tokens(entry.text)) vs \(entry.tokens)")
        }
        XCTAssertTrue(mismatches.isEmpty, mismatches.prefix(5).joined(separator: "\n"))
    }

    func testDecodeMatches() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        var checked = 0, mismatches: [String] = []
        for entry in try WordPieceFixtures.corpus() {
            guard let ids = entry.decode_ids, let expected = entry.decode else { continue }
            for skip in [true, false] {
                for clean in [true, false] {
                    guard let reference = expected["\(skip ? "True" : "False")\(clean ? "True" : "False")"] else {
                        XCTFail("fixture lacks a decode variant"); continue
                    }
                    checked += 1
                    let text = tokenizer.decode(ids, skipSpecialTokens: skip, cleanUpSpaces: clean)
                    if text != reference {
                        mismatches.append("\(ids) skip=\(skip) clean=\(clean): \"\(visible(text))\" vs \"\(visible(reference))\"")
                    }
                }
            }
        }
        print("WordPiece decode parity: \(checked - mismatches.count)/\(checked) identical")
        XCTAssertGreaterThan(checked, 1000)
        XCTAssertTrue(mismatches.isEmpty, mismatches.prefix(5).joined(separator: "\n"))
    }

    func testTruncationMatches() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        var checked = 0
        for entry in try WordPieceFixtures.corpus() {
            guard let truncation = entry.truncate else { continue }
            checked += 1
            XCTAssertEqual(try tokenizer.encode(entry.text, maxLength: truncation.max_length, truncate: true), truncation.ids,
                           visible(entry.text))
            XCTAssertThrowsError(try tokenizer.encode(entry.text, maxLength: truncation.max_length)) { error in
                guard case .textTooLong(_, entry.ids.count, truncation.max_length)? = error as? GlimpseError else {
                    return XCTFail("unexpected \(error)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }

    /// The real all-MiniLM-L6-v2 folder (tokenizer.json) must give the ids transformers gives.
    func testMiniLMFolderMatches() throws {
        let folder = WordPieceFixtures.miniLMFolder
        try XCTSkipUnless(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path),
                          "no all-MiniLM-L6-v2 checkpoint at \(folder.path)")
        let tokenizer = try WordPieceTokenizer.load(folder: folder)
        XCTAssertEqual(tokenizer.modelMaxLength, 512)
        var mismatches: [String] = []
        let corpus = try WordPieceFixtures.corpus()
        for entry in corpus {
            let expected = entry.minilm_ids ?? entry.ids
            let ids = try tokenizer.encode(entry.text)
            if ids != expected { mismatches.append("\"\(visible(entry.text))\"\n  expected \(expected)\n  got      \(ids)") }
        }
        print("all-MiniLM-L6-v2 parity: \(corpus.count - mismatches.count)/\(corpus.count) identical")
        XCTAssertTrue(mismatches.isEmpty, mismatches.prefix(5).joined(separator: "\n"))
    }

    /// The same checkpoint's slow files (vocab.txt + configs, no tokenizer.json) load alike.
    func testSlowFilesFolderMatches() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        try FileManager.default.copyItem(at: WordPieceFixtures.vocabURL, to: folder.appendingPathComponent("vocab.txt"))
        let config = #"{"do_lower_case": true, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": true, "strip_accents": null, "model_max_length": 512, "bos_token": "[DEC]"}"#
        try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        try Data(#"{"additional_special_tokens": [{"content": "[ENC]"}]}"#.utf8).write(to: folder.appendingPathComponent("special_tokens_map.json"))
        let tokenizer = try WordPieceTokenizer.load(folder: folder)
        XCTAssertEqual(tokenizer.vocabularySize, 30524)
        XCTAssertEqual(tokenizer.modelMaxLength, 512)
        for entry in try WordPieceFixtures.corpus() {
            XCTAssertEqual(try tokenizer.encode(entry.text), entry.ids, visible(entry.text))
        }
    }
}
