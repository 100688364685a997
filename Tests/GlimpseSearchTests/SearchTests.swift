import Foundation
import XCTest
@testable import GlimpseSearch

/// Search results equal a brute-force ranking computed from `CLIP.embedEach` outputs with
/// plain Double loops: every image and text embedded independently of the library.
final class SearchTests: XCTestCase {
    var root = ""
    var photos: [String] = []
    var library: PhotoLibrary!

    override func setUpWithError() throws {
        root = try LibraryFixtures.temporaryFolder(self)
        let names = ["camera.png", "cheetah.jpg", "chelsea.png", "grace_hopper.jpg", "horse.png", "lion.jpg", "hf-logo_transpng.png"]
        for (i, name) in names.enumerated() {
            let target = root + "/photos/" + (i % 2 == 0 ? "even/" : "odd/") + name
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: LibraryFixtures.image(name), toPath: target)
            photos.append(target)
        }
        for i in 0 ..< 5 { photos.append(try LibraryFixtures.writePhoto(root + "/photos/odd", "s\(i).png", seed: UInt64(40 + i))) }
        library = try PhotoLibrary(folder: root + "/lib", create: true)
        XCTAssertEqual(try LibraryFixtures.index(library, [root + "/photos"]).embedded, photos.count)
    }

    /// The reference ranking: (path, score) best first, ties by path.
    func bruteForce(texts: [(String, Double)], images: [(String, Double)], under: String? = nil, top: Int) throws -> [(String, Double)] {
        let clip = try LibraryFixtures.clip()
        let photoEmbeddings = try clip.embedEach(imageFiles: photos).map { try $0.get() }
        var query = [Double](repeating: 0, count: photoEmbeddings[0].count)
        func add(_ e: [Float], _ w: Double) {
            let norm = e.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            for i in query.indices { query[i] += w * Double(e[i]) / norm }
        }
        for (text, w) in texts { add(try clip.embedEach(texts: [text])[0].get(), w) }
        for (image, w) in images { add(try clip.embedEach(imageFiles: [image])[0].get(), w) }
        let qn = query.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var scored: [(String, Double)] = []
        for (path, e) in zip(photos, photoEmbeddings) where under.map({ path.hasPrefix($0 + "/") }) ?? true {
            let en = e.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            scored.append((path, zip(query, e).reduce(0.0) { $0 + $1.0 * Double($1.1) } / (qn * en)))
        }
        return Array(scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(top))
    }

    func assertSame(_ hits: [SearchHit], _ expected: [(String, Double)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(hits.map(\.file.fullPath), expected.map(\.0), file: file, line: line)
        for (hit, (path, score)) in zip(hits, expected) {
            XCTAssertEqual(Double(hit.score), score, accuracy: 1e-5, path, file: file, line: line)
        }
    }

    func testTextSearchMatchesBruteForce() throws {
        let hits = try library.snapshot().search([SearchQuery(text: "a photo of a cat", top: 5)], clip: LibraryFixtures.clip())[0]
        assertSame(hits, try bruteForce(texts: [("a photo of a cat", 1)], images: [], top: 5))
    }

    func testImageTextAndNegativeQueriesMatchBruteForce() throws {
        let snapshot = try library.snapshot(), clip = try LibraryFixtures.clip()
        let query = LibraryFixtures.image("chelsea.png")
        let queries = [
            SearchQuery(image: query, top: 3),
            SearchQuery(text: "a big cat", image: query, textWeight: 0.3, imageWeight: 0.7, top: 12),
            SearchQuery(text: "an animal", negatives: ["a horse", "a logo"], negativeWeight: 0.5, top: 12),
        ]
        let results = try snapshot.search(queries, clip: clip)
        assertSame(results[0], try bruteForce(texts: [], images: [(query, 1)], top: 3))
        assertSame(results[1], try bruteForce(texts: [("a big cat", 0.3)], images: [(query, 0.7)], top: 12))
        assertSame(results[2], try bruteForce(texts: [("an animal", 1), ("a horse", -0.5), ("a logo", -0.5)], images: [], top: 12))
    }

    func testUnderKeepsOnlyThatFolder() throws {
        let folder = root + "/photos/odd"
        let hits = try library.snapshot().search([SearchQuery(text: "a dog", top: 20, under: folder)], clip: LibraryFixtures.clip())[0]
        XCTAssertEqual(hits.count, photos.filter { $0.hasPrefix(folder + "/") }.count)
        assertSame(hits, try bruteForce(texts: [("a dog", 1)], images: [], under: folder, top: 20))
        // A folder that is only a prefix of a name is not a parent.
        let none = try library.snapshot().search([SearchQuery(text: "a dog", top: 20, under: root + "/photos/od")], clip: LibraryFixtures.clip())[0]
        XCTAssertTrue(none.isEmpty)
    }

    func testMoreLikeACataloguedPhoto() throws {
        let snapshot = try library.snapshot()
        let chelsea = try XCTUnwrap(snapshot.files.first { $0.path.hasSuffix("chelsea.png") })
        let hits = try snapshot.search([SearchQuery(terms: [(.file(try XCTUnwrap(chelsea.id)), 1)], top: 4)], clip: nil)[0]
        assertSame(hits, try bruteForce(texts: [], images: [(chelsea.fullPath, 1)], top: 4))
        XCTAssertEqual(hits.first?.file.fullPath, chelsea.fullPath)
    }

    func testCLISearchPrintsTheSameRanking() throws {
        let run = try LibraryFixtures.glimpse(["search", "--db", root + "/lib", "a cat", "--negative", "a horse", "--top", "6",
                                               "--under", root + "/photos", "--format", "jsonl"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let expected = try bruteForce(texts: [("a cat", 1), ("a horse", -1)], images: [], top: 6)
        XCTAssertEqual(lines.compactMap { $0["path"] as? String }, expected.map(\.0))
        XCTAssertEqual(lines.compactMap { $0["rank"] as? Int }, Array(1 ... 6))

        let table = try LibraryFixtures.glimpse(["search", "--db", root + "/lib", "--image", LibraryFixtures.image("lion.jpg"), "--format", "table", "--top", "2"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.hasPrefix("rank"), table.stdout)
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 4)
    }
}
