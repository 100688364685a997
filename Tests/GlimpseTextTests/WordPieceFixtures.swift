import Foundation
import XCTest
@testable import GlimpseText

/// Shared fixtures of the WordPiece tests; reference values come from
/// Tools/fixtures/make_wordpiece_fixtures.py (transformers' BertTokenizer, BLIP's configuration).
enum WordPieceFixtures {
    static let folder = TokenizerFixtures.root.appendingPathComponent("tokenizer")
    static let vocabURL = folder.appendingPathComponent("bert-base-uncased-vocab.txt")
    static let corpusURL = folder.appendingPathComponent("wordpiece_corpus.json")
    static let unicodeURL = folder.appendingPathComponent("wordpiece_unicode.json")
    /// The real all-MiniLM-L6-v2 checkpoint, when this machine has it: `GLIMPSE_MINILM`, else
    /// shared/assets beside the repository.
    static let miniLMFolder = ProcessInfo.processInfo.environment["GLIMPSE_MINILM"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/assets/models/all-MiniLM-L6-v2")

    private static let blip = Result { try WordPieceTokenizer(vocabulary: vocabURL, addedTokens: ["[DEC]", "[ENC]"]) }
    /// Configured as BLIP's tokenizer: bert-base-uncased + [DEC] (30522) + [ENC] (30523).
    static func blipTokenizer() throws -> WordPieceTokenizer { try blip.get() }

    struct Truncation: Decodable { let max_length: Int; let ids: [Int] }

    struct Entry: Decodable {
        let text: String
        let ids: [Int]
        let tokens: [String]
        let minilm_ids: [Int]?
        let decode_ids: [Int]?
        let decode: [String: String]?
        let truncate: Truncation?
    }

    private struct Corpus: Decodable { let entries: [Entry] }
    private static let loadedCorpus = Result { try JSONDecoder().decode(Corpus.self, from: Data(contentsOf: corpusURL)).entries }
    static func corpus() throws -> [Entry] { try loadedCorpus.get() }
}
