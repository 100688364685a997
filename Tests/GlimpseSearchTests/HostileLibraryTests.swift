import Foundation
import XCTest
@testable import GlimpseSearch

/// Libraries and folders that are damaged or built to trip the indexer and the search: each
/// is an error naming the file and the cause, or is handled, never a crash or a hang.
final class HostileLibraryTests: XCTestCase {
    func testCatalogueThatIsNotSQLite() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: root + "/lib", withIntermediateDirectories: true)
        try Data(String(repeating: "this is not a database\n", count: 300).utf8).write(to: URL(fileURLWithPath: root + "/lib/catalogue.sqlite"))
        XCTAssertThrowsError(try PhotoLibrary(folder: root + "/lib")) { error in
            XCTAssertTrue("\(error)".contains("catalogue.sqlite: is not an SQLite database"), "\(error)")
        }
        let cli = try LibraryFixtures.glimpse(["search", "--db", root + "/lib", "a cat"])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.stderr.contains("not an SQLite database"), cli.stderr)
    }

    func testCatalogueThatIsAnotherDatabase() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: root + "/lib", withIntermediateDirectories: true)
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["python3", "-c", "import sqlite3; c = sqlite3.connect('\(root)/lib/catalogue.sqlite'); c.execute('CREATE TABLE files (x)'); c.commit()"]
        try sqlite.run(); sqlite.waitUntilExit()
        try XCTSkipIf(sqlite.terminationStatus != 0, "python3 with sqlite3 is needed to write a foreign database")
        XCTAssertThrowsError(try PhotoLibrary(folder: root + "/lib")) { error in
            XCTAssertTrue("\(error)".contains("catalogue.sqlite"), "\(error)")
        }
    }

    func testTruncatedEmbeddingsAreReportedThenRepairedByIndexing() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        var paths: [String] = []
        for i in 0 ..< 6 { paths.append(try LibraryFixtures.writePhoto(root + "/photos", "p\(i).png", seed: UInt64(i))) }
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        _ = try LibraryFixtures.index(library, [root + "/photos"])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: library.embeddingsPath))
        try handle.truncate(atOffset: UInt64(12 * 4 * 3 + 10))   // 3 rows and a piece of the 4th
        try handle.close()

        XCTAssertThrowsError(try library.snapshot()) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        let cli = try LibraryFixtures.glimpse(["search", "--db", root + "/lib", "a cat"])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.stderr.contains("embeddings.f32") && cli.stderr.contains("truncated"), cli.stderr)

        let repair = try LibraryFixtures.index(library, [root + "/photos"])
        XCTAssertEqual(repair.repaired, 3)
        XCTAssertEqual(repair.embedded, 3)
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(library), try LibraryFixtures.referenceEmbeddings(paths))
    }

    func testSymbolicLinkLoopsEnd() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        try LibraryFixtures.writePhoto(photos, "a/x.png", seed: 1)
        try LibraryFixtures.writePhoto(photos, "b/y.png", seed: 2)
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: photos + "/a/loop", withDestinationPath: ".")
        try fm.createSymbolicLink(atPath: photos + "/a/up", withDestinationPath: "..")
        try fm.createSymbolicLink(atPath: photos + "/b/self", withDestinationPath: photos + "/b/self")   // dangling loop
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        let run = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(run.photos, 2)
        XCTAssertEqual(run.embedded, 2)
        XCTAssertEqual(try library.catalogue.files().map(\.path), ["a/x.png", "b/y.png"])
        XCTAssertTrue(run.skippedFolders.contains { $0.reason.contains("loop") }, "\(run.skippedFolders)")
    }

    func testCatalogueWithImpossibleCountsIsRefused() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root + "/photos", "x.png", seed: 1)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        _ = try LibraryFixtures.index(library, [root + "/photos"])
        try library.catalogue.write { try $0.execute(sql: "UPDATE library SET slotCount = 1 << 40") }
        XCTAssertThrowsError(try library.snapshot()) { XCTAssertTrue("\($0)".contains("claims"), "\($0)") }
        try library.catalogue.write { try $0.execute(sql: "UPDATE library SET slotCount = 1, dimension = -3") }
        XCTAssertThrowsError(try library.snapshot()) { XCTAssertTrue("\($0)".contains("dimensions"), "\($0)") }
        try library.catalogue.write { try $0.execute(sql: "UPDATE library SET dimension = 12; UPDATE files SET slot = 7") }
        XCTAssertThrowsError(try library.snapshot()) { XCTAssertTrue("\($0)".contains("outside"), "\($0)") }
    }

    func testLibraryPathThatIsAFileOrAFIFO() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/file"))
        XCTAssertThrowsError(try PhotoLibrary(folder: root + "/file", create: true)) { XCTAssertTrue("\($0)".contains("is a file"), "\($0)") }
        try FileManager.default.createDirectory(atPath: root + "/lib", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(root + "/lib/catalogue.sqlite", 0o644), 0)
        XCTAssertThrowsError(try PhotoLibrary(folder: root + "/lib")) { XCTAssertTrue("\($0)".contains("FIFO"), "\($0)") }
        let missing = try LibraryFixtures.glimpse(["search", "--db", root + "/nowhere", "a cat"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("photo library not found"), missing.stderr)
    }

    func testEmbeddingsFileThatIsAFolder() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root + "/photos", "x.png", seed: 1)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        try FileManager.default.createDirectory(atPath: library.embeddingsPath, withIntermediateDirectories: true)
        XCTAssertThrowsError(try LibraryFixtures.index(library, [root + "/photos"])) { error in
            XCTAssertTrue("\(error)".contains("embeddings.f32"), "\(error)")
        }
    }

    func testSearchOptionsOutOfRange() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        for arguments in [["--top", "0"], ["--top", "99999999999"], ["--text-weight", "nan"], ["--negative", ""]] {
            let run = try LibraryFixtures.glimpse(["search", "--db", root, "a cat"] + arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
        }
        let dedup = try LibraryFixtures.glimpse(["dedup", "--db", root, "--threshold", "1.5"])
        XCTAssertEqual(dedup.status, 2, dedup.stderr)
        let index = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", root + "/lib"])
        XCTAssertEqual(index.status, 2, index.stderr)
    }
}
