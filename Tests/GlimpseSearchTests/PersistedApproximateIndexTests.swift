#if canImport(CFaissShim)
import Foundation
import XCTest
@testable import GlimpseSearch

/// The approximate index a library keeps on disk: used only while it matches the catalogue
/// and its checksum, rebuilt when the library changes, never handed to FAISS when damaged.
final class PersistedApproximateIndexTests: XCTestCase {
    /// A library of `count` indexed photos.
    func library(_ count: Int) throws -> (PhotoLibrary, String) {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        for i in 0 ..< count { try LibraryFixtures.writePhoto(photos, "p\(i).png", seed: UInt64(100 + i)) }
        let library = try PhotoLibrary(folder: root + "/library", create: true)
        _ = try LibraryFixtures.index(library, [photos])
        return (library, photos)
    }

    func query(_ snapshot: LibrarySnapshot, _ i: Int, top: Int = 5, under: String? = nil) -> SearchQuery {
        SearchQuery(terms: [(.embedding(snapshot.embeddings.row(snapshot.files[i].slot)), 1)], top: top, under: under)
    }

    func testBuiltIndexIsUsedAndAgreesWithExactSearch() throws {
        let (library, photos) = try library(12)
        let snapshot = try library.snapshot()
        XCTAssertNil(try LibrarySearch(library: library, snapshot: snapshot).approximateDescription, "no index before one is built")
        XCTAssertEqual(try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .always), "HNSW32,Flat")
        let search = try LibrarySearch(library: library, snapshot: snapshot)
        XCTAssertEqual(search.approximateDescription, "HNSW32,Flat")
        let queries = (0 ..< 12).map { query(snapshot, $0) } + [query(snapshot, 3, under: photos + "/nowhere")]
        let approximate = try search.search(queries, clip: nil)
        let exact = try snapshot.search(queries, clip: nil)
        for (a, e) in zip(approximate, exact) {
            XCTAssertEqual(a.map(\.file.path), e.map(\.file.path))
            for (x, y) in zip(a, e) { XCTAssertEqual(x.score, y.score, accuracy: 1e-5) }
        }
        XCTAssertTrue(approximate.last?.isEmpty ?? false, "a folder filter still applies")
        XCTAssertNil(try LibrarySearch(library: library, snapshot: snapshot, exact: true).approximateDescription)
    }

    func testChangedLibraryMakesTheIndexStaleUntilRebuilt() throws {
        let (library, photos) = try library(6)
        try LibrarySearch.refresh(library: library, snapshot: library.snapshot(), policy: .always)
        try LibraryFixtures.writePhoto(photos, "new.png", seed: 999)
        _ = try LibraryFixtures.index(library, [photos])
        let changed = try library.snapshot()
        XCTAssertEqual(changed.files.count, 7)
        XCTAssertNil(try LibrarySearch(library: library, snapshot: changed).approximateDescription, "stale index not used")
        try LibrarySearch.refresh(library: library, snapshot: changed, policy: .always)
        let search = try LibrarySearch(library: library, snapshot: changed)
        XCTAssertNotNil(search.approximateDescription)
        let newest = changed.files.firstIndex { $0.path == "new.png" } ?? -1
        XCTAssertEqual(try search.search([query(changed, newest, top: 1)], clip: nil)[0].first?.file.path, "new.png")
    }

    func testDamagedIndexIsNeverLoadedAndIsRebuilt() throws {
        let (library, _) = try library(6)
        let snapshot = try library.snapshot()
        try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .always)
        let path = library.folder + "/" + PhotoLibrary.approximateIndexName
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertNil(try LibrarySearch(library: library, snapshot: snapshot).approximateDescription, "checksum mismatch")
        try Data(bytes.prefix(100)).write(to: URL(fileURLWithPath: path))
        XCTAssertNil(try LibrarySearch(library: library, snapshot: snapshot).approximateDescription, "truncated")
        try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .always)
        XCTAssertNotNil(try LibrarySearch(library: library, snapshot: snapshot).approximateDescription)
    }

    func testHostileStampIsIgnored() throws {
        let (library, _) = try library(4)
        let snapshot = try library.snapshot()
        try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .always)
        let stamp = library.folder + "/" + PhotoLibrary.approximateStampName
        for text in ["", "{", "null", "{\"count\": -1}", String(repeating: " ", count: 100_000), "\u{0}\u{0}"] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: stamp))
            XCTAssertNil(try LibrarySearch(library: library, snapshot: snapshot).approximateDescription, "stamp \(text.prefix(20).debugDescription)")
        }
        try FileManager.default.removeItem(atPath: stamp)
        try FileManager.default.createSymbolicLink(atPath: stamp, withDestinationPath: "/dev/zero")
        XCTAssertNil(try LibrarySearch(library: library, snapshot: snapshot).approximateDescription, "stamp as a link")
    }

    func testPoliciesBelowTheThreshold() throws {
        let (library, _) = try library(3)
        let snapshot = try library.snapshot()
        try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .always)
        XCTAssertNil(try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .auto), "3 photos are below the threshold")
        for name in [PhotoLibrary.approximateIndexName, PhotoLibrary.approximateStampName] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: library.folder + "/" + name), name)
        }
        XCTAssertNil(try LibrarySearch.refresh(library: library, snapshot: snapshot, policy: .never))
    }

    func testCommandLine() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        for i in 0 ..< 5 { try LibraryFixtures.writePhoto(root + "/photos", "p\(i).png", seed: UInt64(7 + i)) }
        let indexed = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", root + "/lib", root + "/photos",
                                                   "--approximate", "always", "--quiet"])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        XCTAssertTrue(indexed.stdout.contains("\"approximate_index\":\"HNSW32,Flat\""), indexed.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/lib/" + PhotoLibrary.approximateIndexName))
        let base = ["search", "--db", root + "/lib", "a photo", "--top", "5"]
        let approximate = try LibraryFixtures.glimpse(base), exact = try LibraryFixtures.glimpse(base + ["--exact"])
        XCTAssertEqual(approximate.status, 0, approximate.stderr)
        let paths = { (out: String) in out.split(separator: "\n").map { line in line.components(separatedBy: "\"path\":\"")[1].prefix { $0 != "\"" } } }
        XCTAssertEqual(paths(approximate.stdout), paths(exact.stdout))
        XCTAssertEqual(paths(exact.stdout).count, 5)
        let bad = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", root + "/lib", root + "/photos", "--approximate", "sometimes"])
        XCTAssertEqual(bad.status, 2)
    }
}
#endif
