import CZlib
import Foundation
import GlimpseBase
@testable import GlimpseText
import XCTest

/// Tokenizer files that are not what they claim: gzip bombs, folders and FIFOs in place of
/// files, other encodings, ids that would overflow or size huge tables. Each is an error
/// naming the file; nothing traps, hangs or inflates without limit.
final class HostileTokenizerFileTests: XCTestCase {
    /// gzip of `count` zero bytes, deflated a megabyte at a time (about 1,000:1).
    private func gzipOfZeros(_ count: Int) throws -> Data {
        var stream = z_stream()
        XCTAssertEqual(deflateInit2_(&stream, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                     Int32(MemoryLayout<z_stream>.size)), Z_OK)
        defer { deflateEnd(&stream) }
        var zeros = [UInt8](repeating: 0, count: 1 << 20)
        var out = [UInt8](repeating: 0, count: 1 << 16)
        var result = Data()
        var left = count
        repeat {
            let piece = min(left, zeros.count)
            left -= piece
            let flush = left == 0 ? Z_FINISH : Z_NO_FLUSH
            zeros.withUnsafeMutableBufferPointer { input in
                stream.next_in = input.baseAddress
                stream.avail_in = uInt(piece)
                repeat {
                    out.withUnsafeMutableBufferPointer { output in
                        stream.next_out = output.baseAddress
                        stream.avail_out = uInt(output.count)
                        _ = deflate(&stream, flush)
                        result.append(output.baseAddress!, count: output.count - Int(stream.avail_out))
                    }
                } while stream.avail_out == 0
            }
        } while left > 0
        return result
    }

    private func assertInvalid(_ body: @autoclosure () throws -> Any, path: String, _ phrase: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case GlimpseError.invalidFile(let at, let reason)? = error as? GlimpseError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertEqual(at, path, file: file, line: line)
            XCTAssertTrue(reason.contains(phrase), reason, file: file, line: line)
        }
    }

    /// A merges file that inflates past `Limits.tokenizerFileBytes` is refused as soon as the
    /// output passes the limit, not after inflating all of it.
    func testGzipBombIsRefused() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        let bomb = try gzipOfZeros(Limits.tokenizerFileBytes + (8 << 20))
        XCTAssertLessThan(bomb.count, 1 << 20)
        let url = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
        try bomb.write(to: url)
        assertInvalid(try CLIPTokenizer(bpeVocabGzip: url), path: url.path, "inflates to more than the \(Limits.tokenizerFileBytes) bytes")
        // The limit applies to any gzip read: a small one proves the cut-off itself.
        assertInvalid(try Gzip.decompress(try gzipOfZeros(3 << 20), path: "m.gz", limit: 1 << 20), path: "m.gz", "more than the 1048576 bytes")
        XCTAssertEqual(try Gzip.decompress(try gzipOfZeros(1 << 20), path: "m.gz", limit: 1 << 20).count, 1 << 20)
    }

    func testFoldersFIFOsAndOtherEncodingsAreNamed() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        try TokenizerFixtures.writeHuggingFaceFiles(to: folder)
        let vocab = folder.appendingPathComponent("vocab.json"), merges = folder.appendingPathComponent("merges.txt")
        // A folder where merges.txt should be.
        try FileManager.default.removeItem(at: merges)
        try FileManager.default.createDirectory(at: merges, withIntermediateDirectories: false)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocab, merges: merges), path: merges.path, "is a directory")
        try FileManager.default.removeItem(at: merges)
        XCTAssertEqual(mkfifo(merges.path, 0o600), 0)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocab, merges: merges), path: merges.path, "FIFO")
        try FileManager.default.removeItem(at: merges)
        try Data([0xFF, 0xFE] + Array("a\0b\0".utf8)).write(to: merges)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocab, merges: merges), path: merges.path, "UTF-16")
        try Data([0x61, 0x20, 0xE9, 0x0A]).write(to: merges)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocab, merges: merges), path: merges.path, "not UTF-8")
        try Data("a b\n\0 c\n".utf8).write(to: merges)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocab, merges: merges), path: merges.path, "NUL")
        try Data("{\"a\": ".utf8).write(to: vocab)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocab, merges: merges), path: vocab.path, "malformed JSON")
        let gz = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
        XCTAssertEqual(mkfifo(gz.path, 0o600), 0)
        assertInvalid(try CLIPTokenizer(bpeVocabGzip: gz), path: gz.path, "FIFO")
        let vocabTxt = folder.appendingPathComponent("vocab.txt")
        try FileManager.default.createDirectory(at: vocabTxt, withIntermediateDirectories: false)
        assertInvalid(try WordPieceTokenizer(vocabulary: vocabTxt), path: vocabTxt.path, "is a directory")
    }

    /// Ids beyond 32 bits once trapped converting to Int32, and Int.max trapped at `max + 1`.
    func testOutOfRangeTokenIdsAreErrors() throws {
        let folder = try TokenizerFixtures.temporaryFolder(self)
        try TokenizerFixtures.writeHuggingFaceFiles(to: folder)
        let vocabURL = folder.appendingPathComponent("vocab.json"), merges = folder.appendingPathComponent("merges.txt")
        var vocab = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: vocabURL)) as? [String: Any])
        vocab["th"] = 3_000_000_000
        try JSONSerialization.data(withJSONObject: vocab).write(to: vocabURL)
        assertInvalid(try CLIPTokenizer(vocabJSON: vocabURL, merges: merges), path: vocabURL.path, "outside 0..<\(Limits.configDimension)")

        let fast = folder.appendingPathComponent("tokenizer.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: fast)) as? [String: Any])
        json["added_tokens"] = [["content": "<|huge|>", "id": Int.max]]
        try JSONSerialization.data(withJSONObject: json).write(to: fast)
        assertInvalid(try CLIPTokenizer(tokenizerJSON: fast), path: fast.path, "has id \(Int.max)")

        // WordPiece: tokenizer.json added tokens, added_tokens.json, added_tokens_decoder.
        let bert = try TokenizerFixtures.temporaryFolder(self)
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]
        let model: [String: Any] = ["type": "WordPiece", "unk_token": "[UNK]",
                                    "vocab": Dictionary(uniqueKeysWithValues: words.enumerated().map { ($1, $0) })]
        let wordPiece = bert.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: ["model": model, "added_tokens": [["content": "[X]", "id": Int.max]]]).write(to: wordPiece)
        assertInvalid(try WordPieceTokenizer.load(folder: bert), path: wordPiece.path, "outside 0..<")
        try FileManager.default.removeItem(at: wordPiece)
        try Data(words.joined(separator: "\n").utf8).write(to: bert.appendingPathComponent("vocab.txt"))
        let added = bert.appendingPathComponent("added_tokens.json")
        try Data(#"{"[Y]": 9223372036854775807}"#.utf8).write(to: added)
        assertInvalid(try WordPieceTokenizer.load(folder: bert), path: added.path, "outside 0..<")
        try FileManager.default.removeItem(at: added)
        let config = bert.appendingPathComponent("tokenizer_config.json")
        try Data(#"{"added_tokens_decoder": {"9223372036854775807": {"content": "[Z]"}}}"#.utf8).write(to: config)
        assertInvalid(try WordPieceTokenizer.load(folder: bert), path: config.path, "outside 0..<")
        try Data("[1]".utf8).write(to: config)
        assertInvalid(try WordPieceTokenizer.load(folder: bert), path: config.path, "JSON object")
    }
}
