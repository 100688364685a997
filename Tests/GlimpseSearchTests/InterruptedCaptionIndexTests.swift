import Foundation
import XCTest
@testable import GlimpseSearch

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
        let (interrupted, _) = try KilledRuns().run(arguments, library: killed, target: count, step: 5000) { catalogue in
            try catalogue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM captions") } ?? 0
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
}
