import Foundation
import XCTest
@testable import GlimpseSearch

/// Captions stored by `index` with a BLIP model, and keyword and hybrid search over them,
/// checked against captions and rankings computed here independently.
final class CaptionSearchTests: XCTestCase {
    /// Six photos in two folders, indexed with captions.
    private func captionedLibrary() throws -> (library: PhotoLibrary, photos: String, paths: [String]) {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        var paths: [String] = []
        for i in 0 ..< 6 {
            paths.append(try LibraryFixtures.writePhoto(photos, "\(i % 2 == 0 ? "a" : "b")/p\(i).png", seed: UInt64(300 + i),
                                                        width: 64 + 16 * i, height: 80))
        }
        let library = try PhotoLibrary(folder: root + "/library", create: true)
        let summary = try CaptionFixtures.index(library, [photos])
        XCTAssertEqual(summary.embedded, 6)
        XCTAssertEqual(summary.captioned, 6)
        return (library, photos, paths)
    }

    func testStoredCaptionIsTheCaptionersCaption() throws {
        let (library, _, paths) = try captionedLibrary()
        let expected = try CaptionFixtures.referenceCaptions(paths)
        let stored = try CaptionFixtures.libraryCaptions(library)
        XCTAssertEqual(Set(stored.keys), Set(paths))
        for path in paths { XCTAssertEqual(stored[path] ?? nil, expected[path], path) }
        let model = try XCTUnwrap(try library.catalogue.captionModel())
        XCTAssertEqual(model.id, CaptionFixtures.model)
        XCTAssertEqual(model.fingerprint, try LibraryModel.fingerprint(folder: CaptionFixtures.model))
    }

    func testKeywordSearchFindsExactlyThePhotosWhoseCaptionHasTheWord() throws {
        let (library, _, paths) = try captionedLibrary()
        let expected = try CaptionFixtures.referenceCaptions(paths)
        let snapshot = try library.snapshot()
        // Every word of every caption: the photos found are those whose caption has it.
        let vocabulary = expected.values.reduce(into: Set<String>()) { $0.formUnion(CaptionFixtures.words($1)) }
        XCTAssertFalse(vocabulary.isEmpty)
        for word in vocabulary.sorted() {
            let hits = try library.search(SearchQuery(text: word, top: 100), mode: .keyword, snapshot: snapshot, clip: nil)
            let want = Set(paths.filter { CaptionFixtures.words(expected[$0] ?? "").contains(word) })
            XCTAssertEqual(Set(hits.map(\.file.fullPath)), want, word)
            XCTAssertEqual(hits.count, want.count, "each photo once: \(word)")
            XCTAssertTrue(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score }, "best first: \(word)")
        }
        // A word of one photo's caption (and in no other) finds that photo first.
        if let (path, word) = paths.lazy.compactMap({ path in
            CaptionFixtures.words(expected[path] ?? "").first { word in paths.allSatisfy { $0 == path || !CaptionFixtures.words(expected[$0] ?? "").contains(word) } }
                .map { (path, $0) }
        }).first {
            let hits = try library.search(SearchQuery(text: word.uppercased(), top: 3), mode: .keyword, snapshot: snapshot, clip: nil)
            XCTAssertEqual(hits.map(\.file.fullPath), [path])
        }
        let none = try library.search(SearchQuery(text: "zqxjkvw", top: 10), mode: .keyword, snapshot: snapshot, clip: nil)
        XCTAssertEqual(none.count, 0)
    }

    func testHybridIsReciprocalRankFusionOfTheTwoRankings() throws {
        let (library, photos, paths) = try captionedLibrary()
        let expected = try CaptionFixtures.referenceCaptions(paths)
        let clip = try LibraryFixtures.clip()
        let snapshot = try library.snapshot()
        // A text with a word of some captions but not all, plus a word of none.
        let word = try XCTUnwrap(CaptionFixtures.words(expected[paths[0]] ?? "").sorted().first)
        for under in [nil, photos + "/a"] {
            let text = "\(word) zqxjkvw"
            let semantic = try snapshot.search([SearchQuery(text: text, top: 100, under: under)], clip: clip)[0]
            let keyword = try library.search(SearchQuery(text: text, top: 100, under: under), mode: .keyword, snapshot: snapshot, clip: nil)
            XCTAssertFalse(keyword.isEmpty)
            var score: [String: Double] = [:]
            for ranking in [semantic, keyword] {
                for (rank, hit) in ranking.enumerated() { score[hit.file.fullPath, default: 0] += 1 / (60 + Double(rank + 1)) }
            }
            let want = score.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(4)
            let hybrid = try library.search(SearchQuery(text: text, top: 4, under: under), mode: .hybrid, snapshot: snapshot, clip: clip)
            XCTAssertEqual(hybrid.map(\.file.fullPath), want.map(\.key), "under \(under ?? "-")")
            for (hit, (_, value)) in zip(hybrid, want) { XCTAssertEqual(Double(hit.score), value, accuracy: 1e-6) }
            if let under { XCTAssertTrue(hybrid.allSatisfy { $0.file.fullPath.hasPrefix(under + "/") }) }
        }
    }

    func testUncaptionedLibraryIsCaptionedWithoutEmbeddingAgain() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        let paths = try (0 ..< 5).map { try LibraryFixtures.writePhoto(photos, "p\($0).png", seed: UInt64(500 + $0)) }
        let library = try PhotoLibrary(folder: root + "/library", create: true)
        XCTAssertEqual(try LibraryFixtures.index(library, [photos]).embedded, 5)
        XCTAssertNil(try library.catalogue.captionModel())
        let before = try LibraryFixtures.libraryEmbeddings(library)
        XCTAssertThrowsError(try library.search(SearchQuery(text: "a", top: 3), mode: .keyword, snapshot: library.snapshot(), clip: nil)) {
            XCTAssertTrue("\($0)".contains("no captions"), "\($0)")
        }

        let summary = try CaptionFixtures.index(library, [photos], batchSize: 2)
        XCTAssertEqual(summary.embedded, 0)
        XCTAssertEqual(summary.unchanged, 5)
        XCTAssertEqual(summary.captioned, 5)
        let expected = try CaptionFixtures.referenceCaptions(paths)
        let stored = try CaptionFixtures.libraryCaptions(library)
        for path in paths { XCTAssertEqual(stored[path] ?? nil, expected[path], path) }
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(library), before, tolerance: 0)

        let again = try CaptionFixtures.index(library, [photos])
        XCTAssertEqual(again.captioned, 0)
        XCTAssertEqual(again.embedded, 0)
    }

    func testMovedAndCopiedFilesKeepTheirCaptionAndRemovedOnesTakeItAlong() throws {
        let (library, photos, paths) = try captionedLibrary()
        let expected = try CaptionFixtures.referenceCaptions(paths)
        let fm = FileManager.default
        let moved = photos + "/c/moved.png", copied = photos + "/c/copy.png"
        try fm.createDirectory(atPath: photos + "/c", withIntermediateDirectories: true)
        try fm.moveItem(atPath: paths[0], toPath: moved)
        try fm.copyItem(atPath: paths[1], toPath: copied)
        try fm.removeItem(atPath: paths[2])

        let summary = try CaptionFixtures.index(library, [photos])
        XCTAssertEqual(summary.moved, 1)
        XCTAssertEqual(summary.copied, 1)
        XCTAssertEqual(summary.removed, 1)
        XCTAssertEqual(summary.embedded, 0)
        XCTAssertEqual(summary.captioned, 0, "no photo captioned again")
        let stored = try CaptionFixtures.libraryCaptions(library)
        XCTAssertEqual(stored[moved] ?? nil, expected[paths[0]])
        XCTAssertEqual(stored[copied] ?? nil, expected[paths[1]])
        XCTAssertNil(stored[paths[2]] ?? nil)
        // One caption per content still catalogued: the removed photo's went with it.
        XCTAssertEqual(try CaptionFixtures.captionCount(library), Set(try library.catalogue.files().map(\.sha256)).count)
        XCTAssertEqual(try CaptionFixtures.captionCount(library), 5)

        // The copy gone, its original keeps the shared caption.
        try fm.removeItem(atPath: copied)
        XCTAssertEqual(try CaptionFixtures.index(library, [photos]).removed, 1)
        XCTAssertEqual(try CaptionFixtures.libraryCaptions(library)[paths[1]] ?? nil, expected[paths[1]])
        XCTAssertEqual(try CaptionFixtures.captionCount(library), 5)
    }

    func testAnotherCaptionModelIsRefused() throws {
        let (library, photos, _) = try captionedLibrary()
        // The same architecture with one weight byte changed: another model.
        let other = try LibraryFixtures.temporaryFolder(self) + "/blip-other"
        try FileManager.default.copyItem(atPath: CaptionFixtures.model, toPath: other)
        let weights = other + "/model.safetensors"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: weights)))
        bytes[bytes.count - 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: weights))

        let clip = try LibraryFixtures.clip()
        let indexer = try LibraryIndexer(library: library, clip: clip, model: LibraryModel(spec: LibraryFixtures.model, clip: clip))
        XCTAssertThrowsError(try indexer.caption(with: CaptionFixtures.libraryCaptioner(other))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("captioned with the model \(CaptionFixtures.model)"), text)
            XCTAssertTrue(text.contains(other), text)
        }
        XCTAssertEqual(try library.catalogue.captionModel()?.id, CaptionFixtures.model, "unchanged")
        XCTAssertEqual(try CaptionFixtures.index(library, [photos]).unchanged, 6, "the recorded model is still accepted")
    }

    func testKeywordAndHybridNeedAText() throws {
        let (library, _, paths) = try captionedLibrary()
        let snapshot = try library.snapshot()
        for mode in [SearchMode.keyword, .hybrid] {
            XCTAssertThrowsError(try library.search(SearchQuery(image: paths[0], top: 3), mode: mode, snapshot: snapshot,
                                                    clip: LibraryFixtures.clip())) {
                XCTAssertTrue("\($0)".contains("give a text"), "\($0)")
            }
        }
    }
}
