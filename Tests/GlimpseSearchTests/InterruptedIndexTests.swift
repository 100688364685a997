import Foundation
import XCTest
@testable import GlimpseSearch
#if canImport(Glibc)
import Glibc
#endif

/// `glimpse index` killed with SIGKILL at unpredictable points, then run again, leaves the
/// same catalogue and embeddings as a run never interrupted: nothing lost, nothing twice.
final class InterruptedIndexTests: XCTestCase {
    func testKilledRunsResumeToTheUninterruptedResult() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        let count = 40
        for i in 0 ..< count {
            try LibraryFixtures.writePhoto(photos, String(format: "d%d/p%03d.png", i % 3, i), seed: UInt64(1000 + i), width: 320, height: 240)
        }
        let arguments = ["index", "--model", LibraryFixtures.model, "--batch-size", "2", "--quiet", photos]

        var interrupted = 0
        var previous = -1
        for attempt in 0 ..< 4 {
            let process = Process()
            process.executableURL = LibraryFixtures.executable
            process.arguments = arguments + ["--db", root + "/killed"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until this run has committed something new, then kill it a moment later.
            let deadline = Date(timeIntervalSinceNow: 60)
            while process.isRunning && Date() < deadline {
                if let rows = try? catalogued(root + "/killed"), rows > max(previous, 0) { break }
                usleep(10_000)
            }
            usleep(UInt32(attempt * 7000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { interrupted += 1 }
            previous = (try? catalogued(root + "/killed")) ?? previous
            if previous >= count { break }
        }
        XCTAssertGreaterThan(interrupted, 0, "no run was killed before it finished")
        XCTAssertLessThan(previous, count, "the killed runs should not have finished everything")

        let resumed = try LibraryFixtures.glimpse(arguments + ["--db", root + "/killed"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let whole = try LibraryFixtures.glimpse(arguments + ["--db", root + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)

        let killed = try PhotoLibrary(folder: root + "/killed"), reference = try PhotoLibrary(folder: root + "/whole")
        func facts(_ library: PhotoLibrary) throws -> [String] {
            try library.catalogue.files().map { "\($0.fullPath) \($0.size) \($0.mtime) \($0.sha256) \($0.width)x\($0.height)" }
        }
        XCTAssertEqual(try facts(killed), try facts(reference))
        XCTAssertEqual(try killed.catalogue.files().count, count)
        XCTAssertEqual(try killed.catalogue.slotCount(), count, "no embedding row lost or written twice")
        XCTAssertEqual(Set(try killed.catalogue.files().map(\.slot)).count, count)
        XCTAssertEqual(try killed.catalogue.failures().count, 0)
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(killed), try LibraryFixtures.libraryEmbeddings(reference))
    }

    private var open: [String: Catalogue] = [:]

    /// Rows committed to the catalogue at `library` (read while the indexer may be writing;
    /// one connection per library, opened once the indexer has created it).
    private func catalogued(_ library: String) throws -> Int {
        let path = library + "/catalogue.sqlite"
        if open[path] == nil {
            guard FileManager.default.fileExists(atPath: path) else { return 0 }
            open[path] = try Catalogue(path: path)
        }
        return try open[path]?.files().count ?? 0
    }
}
