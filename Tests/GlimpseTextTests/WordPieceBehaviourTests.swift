import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseText

/// Known ids, options, loading errors and throughput.
final class WordPieceBehaviourTests: XCTestCase {
    func testBLIPSpecialTokens() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        XCTAssertEqual(tokenizer.vocabularySize, 30524)
        XCTAssertEqual([tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId], [0, 100, 101, 102])
        XCTAssertEqual(tokenizer.maskId, 103)
        XCTAssertEqual(tokenizer.id(of: "[DEC]"), 30522)
        XCTAssertEqual(tokenizer.id(of: "[ENC]"), 30523)
        XCTAssertEqual(tokenizer.id(of: "##ing"), 2075)
        XCTAssertNil(tokenizer.id(of: "glimpsify"))
        // Reference: transformers BertTokenizer (see the corpus generator).
        XCTAssertEqual(try tokenizer.encode("[DEC] a picture of"), [101, 30522, 1037, 3861, 1997, 102])
        XCTAssertEqual(tokenizer.tokens("Unbelievable tokenization!"), ["unbelievable", "token", "##ization", "!"])
        XCTAssertEqual(try tokenizer.encode("", addSpecialTokens: false), [])
        XCTAssertEqual(tokenizer.decode([101, 30522, 1037, 3861, 1997, 1012, 102]), "a picture of.")
        XCTAssertEqual(tokenizer.decode([101, 1037, 3861, 102], skipSpecialTokens: false), "[CLS] a picture [SEP]")
        XCTAssertEqual(tokenizer.decode([-5, 99_999, 1037]), "a")
    }

    func testLongWordsBecomeUnknown() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        XCTAssertEqual(tokenizer.tokens(String(repeating: "a", count: 101)), ["[UNK]"])
        XCTAssertNotEqual(tokenizer.tokens(String(repeating: "a", count: 100)), ["[UNK]"])
    }

    func testCasedOptions() throws {
        let url = WordPieceFixtures.vocabURL
        let cased = try WordPieceTokenizer(vocabulary: url, lowercase: false)
        // Reference values: transformers BertTokenizer with do_lower_case=False /
        // strip_accents=False / tokenize_chinese_chars=False on the same vocabulary.
        XCTAssertEqual(cased.tokens("Hello café"), ["[UNK]", "[UNK]"])
        let keepAccents = try WordPieceTokenizer(vocabulary: url, stripAccents: false)
        XCTAssertEqual(keepAccents.tokens("café"), ["[UNK]"])
        XCTAssertEqual(try WordPieceFixtures.blipTokenizer().tokens("café"), ["cafe"])
        let noChinese = try WordPieceTokenizer(vocabulary: url, splitChineseCharacters: false)
        XCTAssertEqual(noChinese.tokens("北京"), ["北", "##京"])
        XCTAssertEqual(try WordPieceFixtures.blipTokenizer().tokens("北京"), ["北", "京"])
    }

    func testTruncationKeepsSeparator() throws {
        let tokenizer = try WordPieceFixtures.blipTokenizer()
        let text = "a photo of a cat sitting on a bench"
        let full = try tokenizer.encode(text)
        XCTAssertEqual(try tokenizer.encode(text, maxLength: 5, truncate: true), Array(full.prefix(4)) + [102])
        XCTAssertEqual(try tokenizer.encode(text, maxLength: full.count), full)
        XCTAssertEqual(try tokenizer.encode(text, addSpecialTokens: false, maxLength: 3, truncate: true), Array(full[1...3]))
        XCTAssertThrowsError(try tokenizer.encode(text, maxLength: 5)) { error in
            XCTAssertEqual(error as? GlimpseError, .textTooLong(text: text, tokens: full.count, limit: 5))
        }
        for bad in [1, 0, -3] {
            XCTAssertThrowsError(try tokenizer.encode(text, maxLength: bad, truncate: true)) { error in
                guard case let .invalidArgument(message)? = error as? GlimpseError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("maxLength"), message)
            }
        }
    }

    func testMissingFiles() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        XCTAssertThrowsError(try WordPieceTokenizer.load(folder: folder)) { error in
            guard case let .fileNotFound(path, what)? = error as? GlimpseError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, folder.path)
            XCTAssertTrue(what.contains("tokenizer.json") && what.contains("vocab.txt"), what)
        }
        let absent = folder.appendingPathComponent("nowhere")
        XCTAssertThrowsError(try WordPieceTokenizer.load(folder: absent)) { error in
            XCTAssertEqual(error as? GlimpseError, .fileNotFound(path: absent.path, what: "tokenizer folder"))
        }
        let vocab = folder.appendingPathComponent("vocab.txt")
        XCTAssertThrowsError(try WordPieceTokenizer(vocabulary: vocab)) { error in
            guard case .fileNotFound(vocab.path, _)? = error as? GlimpseError else { return XCTFail("\(error)") }
        }
    }

    func testMalformedFiles() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        let json = folder.appendingPathComponent("tokenizer.json")
        let cases: [(String, String)] = [
            ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": ", "malformed JSON"),
            ("[1, 2]", "\"model\""),
            ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": [\"a\"]}}", "model.vocab"),
            ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}", "model.vocab[\"a\"]"),
            ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "unknown token"),
            ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"[PAD]\": 3}}, \"added_tokens\": [{\"id\": 4}]}", "added_tokens[0]"),
        ]
        for (text, expected) in cases {
            try Data(text.utf8).write(to: json)
            XCTAssertThrowsError(try WordPieceTokenizer.load(folder: folder), text) { error in
                guard case let .invalidFile(path, reason)? = error as? GlimpseError else { return XCTFail("\(text): \(error)") }
                XCTAssertEqual(path, json.path)
                XCTAssertTrue(reason.contains(expected), "\(reason) should mention \(expected)")
            }
        }
        try Data(#"{"model": {"type": "BPE", "vocab": {}}}"#.utf8).write(to: json)
        XCTAssertThrowsError(try WordPieceTokenizer.load(folder: folder)) { error in
            guard case .unsupported? = error as? GlimpseError else { return XCTFail("\(error)") }
        }
        try Data(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "hi": 4}}}"#.utf8).write(to: json)
        let minimal = try WordPieceTokenizer.load(folder: folder)
        // Special tokens missing from the vocabulary are added after it, as transformers adds them.
        XCTAssertEqual(minimal.maskId, 5)
        XCTAssertEqual(minimal.vocabularySize, 6)
        XCTAssertEqual(try minimal.encode("hi HI [MASK]"), [1, 4, 0, 5, 2])  // no normalizer: case kept
        try FileManager.default.removeItem(at: json)
        try Data([0xFF, 0xFE, 0x00]).write(to: folder.appendingPathComponent("vocab.txt"))
        XCTAssertThrowsError(try WordPieceTokenizer.load(folder: folder)) { error in
            guard case .invalidFile(_, let reason)? = error as? GlimpseError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("UTF-8"), reason)
        }
        try Data("{".utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        XCTAssertThrowsError(try WordPieceTokenizer.load(folder: folder)) { error in
            guard case .invalidFile(let path, _)? = error as? GlimpseError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("tokenizer_config.json"), path)
        }
    }
}
