import Foundation
import XCTest
@testable import GlimpseSearch
#if canImport(Glibc)
import Glibc
#endif

/// `glimpse index --captions` killed with SIGKILL, then run again, leaves the same captions
/// as a run never interrupted: each photo's caption written once, in its batch's transaction.
final class InterruptedCaptionIndexTests: XCTestCase {
    func testKilledCaptioningRunsResumeToTheUninterruptedResult() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        let count = 24
        for i in 0 ..< count {
            try LibraryFixtures.writePhoto(photos, String(format: "p%03d.png", i), seed: UInt64(2000 + i), width: 160, height: 120)
        }
        let arguments = ["index", "--model", LibraryFixtures.model, "--captions", CaptionFixtures.model, "--batch-size", "2", "--quiet", photos]
        let killed = root + "/killed"
        var interrupted = 0, previous = 0
        for attempt in 0 ..< 4 {
            let process = Process()
            process.executableURL = LibraryFixtures.executable
            process.arguments = arguments + ["--db", killed]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date(timeIntervalSinceNow: 60)
            while process.isRunning && Date() < deadline {
                if let rows = try? captioned(killed), rows > previous { break }
                usleep(10_000)
            }
            usleep(UInt32(attempt * 5000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { interrupted += 1 }
            previous = (try? captioned(killed)) ?? previous
            if previous >= count { break }
        }
        XCTAssertGreaterThan(interrupted, 0, "no run was killed before it finished")

        let resumed = try LibraryFixtures.glimpse(arguments + ["--db", killed])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let whole = try LibraryFixtures.glimpse(arguments + ["--db", root + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)

        let a = try PhotoLibrary(folder: killed), b = try PhotoLibrary(folder: root + "/whole")
        XCTAssertEqual(try a.catalogue.files().count, count)
        XCTAssertEqual(try CaptionFixtures.captionCount(a), count, "each caption once")
        let captions = try CaptionFixtures.libraryCaptions(a)
        XCTAssertEqual(captions, try CaptionFixtures.libraryCaptions(b))
        XCTAssertFalse(captions.values.contains { $0 == nil }, "every photo captioned")
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(a), try LibraryFixtures.libraryEmbeddings(b))
    }

    private var open: [String: Catalogue] = [:]

    /// Captions committed in the library at `folder` (read while the indexer may be writing).
    private func captioned(_ folder: String) throws -> Int {
        let path = folder + "/catalogue.sqlite"
        if open[path] == nil {
            guard FileManager.default.fileExists(atPath: path) else { return 0 }
            open[path] = try Catalogue(path: path)
        }
        return try open[path]?.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM captions") } ?? 0
    }
}
