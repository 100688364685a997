import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseText

/// The three file formats agree, and broken or missing files fail with a clear GlimpseError.
final class CLIPTokenizerLoadingTests: XCTestCase {
    private let samples = ["a photo of a cat.", "It's DON'T &amp; ﬁsh", "東京タワー 🐱👍🏽", "x" + String(repeating: "ab", count: 40),
                           "<|startoftext|>hi<|endoftext|>", "naïve café 123"]

    func testAllFormatsGiveTheSameIds() throws {
        let reference = try TokenizerFixtures.tokenizer()
        for pairs in [false, true] {
            let folder = try TokenizerFixtures.temporaryFolder(self)
            try TokenizerFixtures.writeHuggingFaceFiles(to: folder, pairMerges: pairs)
            let slow = try CLIPTokenizer(vocabJSON: folder.appendingPathComponent("vocab.json"),
                                         merges: folder.appendingPathComponent("merges.txt"))
            let fast = try CLIPTokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
            for tokenizer in [slow, fast] {
                XCTAssertEqual(tokenizer.startOfText, 49406)
                XCTAssertEqual(tokenizer.endOfText, 49407)
                XCTAssertEqual(tokenizer.vocabularySize, 49408)
                for text in samples {
                    XCTAssertEqual(try tokenizer.tokenize(text, truncate: true), try reference.tokenize(text, truncate: true), text)
                    XCTAssertEqual(tokenizer.decode(reference.encode(text)), reference.decode(reference.encode(text)))
                }
            }
        }
    }

    func testLoadFolderPrefersVocabThenTokenizerJSONThenGzip() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        XCTAssertThrowsError(try CLIPTokenizer.load(folder: folder)) { error in
            guard case let .fileNotFound(path, what)? = error as? GlimpseError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, folder.path)
            XCTAssertTrue(what.contains("vocab.json") && what.contains("tokenizer.json") && what.contains("bpe_simple_vocab_16e6.txt.gz"))
        }
        try FileManager.default.copyItem(at: TokenizerFixtures.bpeGzip, to: folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz"))
        XCTAssertEqual(try CLIPTokenizer.load(folder: folder).encode("a dog"), [320, 1929])
        // A broken tokenizer.json next to it proves the preference order: it is read first.
        try Data("{".utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try CLIPTokenizer.load(folder: folder))
        try TokenizerFixtures.writeHuggingFaceFiles(to: folder)
        try Data("{".utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        XCTAssertEqual(try CLIPTokenizer.load(folder: folder).encode("a dog"), [320, 1929])
        XCTAssertEqual(try CLIPTokenizer.load(folder: TokenizerFixtures.clipFolder).encode("a dog"), [320, 1929])
    }

    func testMissingFilesNameThePath() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/glimpse/bpe.txt.gz")
        for attempt in [{ _ = try CLIPTokenizer(bpeVocabGzip: missing) },
                        { _ = try CLIPTokenizer(tokenizerJSON: missing) },
                        { _ = try CLIPTokenizer(vocabJSON: missing, merges: missing) },
                        { _ = try CLIPTokenizer.load(folder: missing) }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case let .fileNotFound(path, _)? = error as? GlimpseError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, missing.path)
                XCTAssertTrue("\(error)".contains(missing.path))
            }
        }
    }

    func testCorruptGzip() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        let original = try Data(contentsOf: TokenizerFixtures.bpeGzip)
        let cases: [(String, Data)] = [("empty", Data()), ("text", Data("hello, not gzip".utf8)),
                                       ("truncated", original.prefix(original.count / 2)),
                                       ("flipped", { var data = original; data[data.count / 2] ^= 0xFF; return data }())]
        for (name, data) in cases {
            let url = folder.appendingPathComponent("\(name).gz")
            try data.write(to: url)
            XCTAssertThrowsError(try CLIPTokenizer(bpeVocabGzip: url), name) { error in
                guard case let .invalidFile(path, reason)? = error as? GlimpseError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertFalse(reason.isEmpty)
            }
        }
    }

    func testMalformedTokenizerJSON() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        let cases = ["{", "[]", "{\"model\": {}}", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}",
                     "{\"model\": {\"vocab\": {\"a\": \"x\"}, \"merges\": []}}",
                     "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"a b c\"]}}",
                     "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}"]
        for (index, json) in cases.enumerated() {
            let url = folder.appendingPathComponent("tokenizer\(index).json")
            try Data(json.utf8).write(to: url)
            XCTAssertThrowsError(try CLIPTokenizer(tokenizerJSON: url), json) { error in
                guard case let .invalidFile(path, _)? = error as? GlimpseError else { return XCTFail("\(json): \(error)") }
                XCTAssertEqual(path, url.path)
            }
        }
    }

    func testMergeOutsideVocabularyIsRejected() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        try TokenizerFixtures.writeHuggingFaceFiles(to: folder)
        let merges = folder.appendingPathComponent("merges.txt")
        try Data("#version: 0.2\nq\u{10FFFF} z\n".utf8).write(to: merges)
        XCTAssertThrowsError(try CLIPTokenizer(vocabJSON: folder.appendingPathComponent("vocab.json"), merges: merges)) { error in
            XCTAssertTrue("\(error)".contains("not in the vocabulary"), "\(error)")
        }
    }
}
