import Foundation
import XCTest
@testable import GlimpseSearch

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

        let (interrupted, previous) = try KilledRuns().run(arguments, library: root + "/killed", target: count, step: 7000, count: KilledRuns.files)
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
}
