import Foundation
import XCTest
@testable import Glimpse

/// The BERT stack on REAL pretrained weights: all-MiniLM-L6-v2 against transformers'
/// BertModel (Tools/fixtures/make_minilm_fixtures.py). The weights are not committed; they
/// are read from ../shared/assets/models/all-MiniLM-L6-v2 beside the repository.
///
/// Tolerance 1e-4 max abs on last hidden states and on the sentence embeddings.
/// Measured: last hidden state 2.5e-6, embeddings 1.6e-7 (texts packed, no padding).
final class BERTParityTests: XCTestCase {
    static let folder = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/assets/models/all-MiniLM-L6-v2").path

    static func model() throws -> BERTModel {
        guard FileManager.default.fileExists(atPath: folder + "/model.safetensors") else {
            throw XCTSkip("real MiniLM weights not found at \(folder): put a copy of shared/ beside the repository")
        }
        return try BERTModel(checkpoint: Checkpoint(folder: folder))
    }

    func testMiniLMMatchesReference() throws {
        let model = try Self.model()
        let ref = try Fixtures.json("bert/minilm.json")
        let ids = try ref.idLists("ids")
        let (states, sequences) = try model.lastHiddenState(ids)
        XCTAssertEqual(sequences.map(\.count), ids.map(\.count))
        assertClose(states.scalars, try ref.floats("last_hidden_state"), abs: 1e-4, "MiniLM last hidden state")
        let embeddings = try model.sentenceEmbeddings(ids)
        XCTAssertEqual(embeddings.shape, [ids.count, 384])
        assertClose(embeddings.scalars, try ref.floats("embeddings"), abs: 1e-4, "MiniLM sentence embeddings")
    }

    /// Each text alone gives what it gives packed with others.
    func testPackingHasNoCrossTalk() throws {
        let model = try Self.model()
        let ids = try Fixtures.json("bert/minilm.json").idLists("ids")
        let batched = try model.sentenceEmbeddings(ids).scalars
        for (i, text) in ids.enumerated() {
            assertClose(try model.sentenceEmbeddings([text]).scalars, Array(batched[i * 384 ..< (i + 1) * 384]),
                        abs: 1e-5, "text \(i) alone vs packed")
        }
    }

    func testRejectsBadIds() throws {
        let model = try Self.model()
        XCTAssertThrowsError(try model.sentenceEmbeddings([[101, 30522, 102]])) { error in
            XCTAssertTrue(String(describing: error).contains("30522"), "\(error)")
        }
        XCTAssertThrowsError(try model.sentenceEmbeddings([[]]))
        XCTAssertThrowsError(try model.sentenceEmbeddings([Array(repeating: 1000, count: 513)]))
    }

    func testRejectsNonBERTConfig() throws {
        XCTAssertThrowsError(try BERTModel(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")))) { error in
            XCTAssertTrue(String(describing: error).contains("not a BERT checkpoint"), "\(error)")
        }
    }
}
