import Foundation
import GRDB
import XCTest
@testable import GlimpseSearch

/// Folders indexed inside or around each other: every photo is catalogued once, whatever the
/// order, and nothing is embedded twice.
final class NestedFolderIndexTests: XCTestCase {
    func album() throws -> (root: String, photos: String, library: PhotoLibrary) {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        for i in 0 ..< 3 { try LibraryFixtures.writePhoto(photos, "2024/p\(i).png", seed: UInt64(40 + i)) }
        for i in 0 ..< 2 { try LibraryFixtures.writePhoto(photos, "2025/q\(i).png", seed: UInt64(50 + i)) }
        return (root, photos, try PhotoLibrary(folder: root + "/lib", create: true))
    }

    func paths(_ library: PhotoLibrary) throws -> [String] { try library.catalogue.files().map(\.fullPath).sorted() }

    func testParentAfterSubfolderTakesItsRowsIn() throws {
        let (_, photos, library) = try album()
        XCTAssertEqual(try LibraryFixtures.index(library, [photos + "/2024"]).embedded, 3)
        let run = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(run.embedded, 2, "only the photos outside 2024")
        XCTAssertEqual(run.unchanged, 3)
        let all = ["2024/p0.png", "2024/p1.png", "2024/p2.png", "2025/q0.png", "2025/q1.png"].map { photos + "/" + $0 }
        XCTAssertEqual(try paths(library), all)
        XCTAssertEqual(Set(try library.catalogue.files().map(\.root)), [photos])
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(library), try LibraryFixtures.referenceEmbeddings(all))
        let hits = try library.snapshot().search([SearchQuery(terms: [(.embedding(try LibraryFixtures.libraryEmbeddings(library)[all[0]]!), 1)], top: 10)], clip: nil)[0]
        XCTAssertEqual(hits.count, 5, "each photo found once")
    }

    func testSubfolderAfterParentIsPartOfIt() throws {
        let (_, photos, library) = try album()
        XCTAssertEqual(try LibraryFixtures.index(library, [photos]).embedded, 5)
        try FileManager.default.removeItem(atPath: photos + "/2024/p0.png")
        try FileManager.default.removeItem(atPath: photos + "/2025/q0.png")
        try LibraryFixtures.writePhoto(photos, "2024/new.png", seed: 77)
        let run = try LibraryFixtures.index(library, [photos + "/2024"])
        XCTAssertEqual(run.photos, 3)
        XCTAssertEqual(run.embedded, 1)
        XCTAssertEqual(run.unchanged, 2)
        XCTAssertEqual(run.removed, 1, "only the photo gone from 2024; 2025 was not indexed in this run")
        XCTAssertEqual(try paths(library), ["2024/new.png", "2024/p1.png", "2024/p2.png", "2025/q0.png", "2025/q1.png"].map { photos + "/" + $0 })
        XCTAssertEqual(Set(try library.catalogue.files().map(\.root)), [photos])
    }

    /// A library holding the same photos under a folder and under its parent (as earlier
    /// versions could make) keeps one row for each once the parent is indexed again.
    func testDuplicatedRowsAreMergedKeepingTheOuterOnes() throws {
        let (_, photos, library) = try album()
        _ = try LibraryFixtures.index(library, [photos])
        let before = try library.catalogue.files()
        try library.catalogue.write { db in
            var slot = try Catalogue.slotCount(db, path: library.catalogue.path)
            for file in before where file.path.hasPrefix("2024/") {
                var copy = file
                copy.id = nil
                copy.root = photos + "/2024"
                copy.path = String(file.path.dropFirst(5))
                copy.slot = slot
                slot += 1
                try copy.insert(db)
            }
            try db.execute(sql: "UPDATE library SET slotCount = ?", arguments: [slot])
        }
        XCTAssertEqual(try library.catalogue.files().count, 8)
        let run = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(run.embedded, 0)
        XCTAssertEqual(try library.catalogue.files().map(\.id), before.map(\.id), "the outer rows remain, the copies are gone")
        XCTAssertEqual(try paths(library), before.map(\.fullPath).sorted())
    }

    /// Imported records known only by URL have an empty root, which holds no folder.
    func testImportedRecordsWithoutAFolderStayApart() throws {
        let (_, photos, library) = try album()
        _ = try LibraryFixtures.index(library, [photos + "/2024"])
        let dimension = try library.model().dimension
        try library.catalogue.write { db in
            let slot = try Catalogue.slotCount(db, path: library.catalogue.path)
            try EmbeddingStore(path: library.embeddingsPath, dimension: dimension)
                .write([[Float](repeating: 1 / Float(dimension).squareRoot(), count: dimension)], at: [slot])
            let remote = CatalogueFile(root: "", path: "https://example.com/a.jpg", size: 0, mtime: 0, sha256: "", width: 0, height: 0, takenAt: nil, slot: slot)
            try remote.insert(db)
            try db.execute(sql: "UPDATE library SET slotCount = ?", arguments: [slot + 1])
        }
        let run = try LibraryFixtures.index(library, [photos + "/2025"])
        XCTAssertEqual(run.embedded, 2)
        XCTAssertEqual(run.removed, 0)
        XCTAssertEqual(Set(try library.catalogue.files().map(\.root)), ["", photos + "/2024", photos + "/2025"])
        XCTAssertEqual(try library.catalogue.files().count, 6)
    }

    func testScopePlan() {
        let plan = IndexScope.plan(folders: ["/p", "/x/y"], catalogued: ["/p/a", "/p/a/b", "/x", "/z"])
        XCTAssertEqual(plan.scopes, [IndexScope(root: "/p", prefix: ""), IndexScope(root: "/x", prefix: "y")])
        XCTAssertEqual(plan.absorbed.map { "\($0.inner)>\($0.outer):\($0.prefix)" }, ["/p/a>/p:a", "/p/a/b>/p:a/b"])
        XCTAssertNil(IndexScope.relative("/pa", in: "/p"), "a sibling with a common prefix is not inside")
        XCTAssertEqual(IndexScope.relative("/p/q", in: "/"), "p/q")
    }
}
