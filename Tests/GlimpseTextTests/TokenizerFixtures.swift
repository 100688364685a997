import Foundation
import XCTest
@testable import GlimpseText

/// Paths and shared objects for the tokenizer tests. The vocabulary is OpenAI's original gz in
/// Tests/Fixtures/clip-tiny; the reference ids come from Tools/fixtures/make_tokenizer_fixtures.py.
enum TokenizerFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let clipFolder = root.appendingPathComponent("clip-tiny")
    static let bpeGzip = clipFolder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
    /// The committed corpus, or a larger one (e.g. `--fuzz` output) named by GLIMPSE_CLIP_CORPUS.
    static let corpusURL = ProcessInfo.processInfo.environment["GLIMPSE_CLIP_CORPUS"].map { URL(fileURLWithPath: $0) }
        ?? root.appendingPathComponent("tokenizer/clip_corpus.json")
    static let labelsURL = root.appendingPathComponent("tokenizer/imagenet_labels.json")

    private static let loaded = Result { try CLIPTokenizer(bpeVocabGzip: bpeGzip) }
    /// One tokenizer for all tests (loading parses 49k merges).
    static func tokenizer() throws -> CLIPTokenizer { try loaded.get() }

    struct Entry: Decodable {
        let text: String
        let ids: [Int]
        let hf_ids: [Int]
        let ftfy_changes: Bool
        let needs_fix_encoding: Bool
        let decode_ids: [Int]?
        let decode: String?
    }

    private struct Corpus: Decodable { let entries: [Entry] }

    static func corpus() throws -> [Entry] {
        try JSONDecoder().decode(Corpus.self, from: Data(contentsOf: corpusURL)).entries
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Writes the gz vocabulary in Hugging Face's formats: vocab.json + merges.txt, and a
    /// tokenizer.json with merges as "a b" strings or as [a, b] pairs.
    static func writeHuggingFaceFiles(to folder: URL, pairMerges: Bool = false) throws {
        let vocabulary = try BPEVocabulary.load(gzip: bpeGzip)
        let vocabData = try JSONSerialization.data(withJSONObject: vocabulary.ids)
        try vocabData.write(to: folder.appendingPathComponent("vocab.json"))
        let merges = "#version: 0.2\n" + vocabulary.merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n"
        try Data(merges.utf8).write(to: folder.appendingPathComponent("merges.txt"))
        let mergeList: [Any] = pairMerges ? vocabulary.merges.map { [$0.0, $0.1] } : vocabulary.merges.map { "\($0.0) \($0.1)" }
        let json: [String: Any] = ["version": "1.0", "model": ["type": "BPE", "vocab": vocabulary.ids, "merges": mergeList]]
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("tokenizer.json"))
    }
}

/// Escapes a string so mismatch reports show invisible characters.
func visible(_ text: String) -> String {
    text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
}
