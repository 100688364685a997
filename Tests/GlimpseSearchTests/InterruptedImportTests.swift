import Foundation
import XCTest
@testable import GlimpseSearch

/// `glimpse index --import` killed with SIGKILL mid-import, then run again, holds every row
/// exactly once, as a run never interrupted does.
final class InterruptedImportTests: XCTestCase {
    func testKilledImportsResumeToTheUninterruptedResult() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        let count = 60
        for i in 0 ..< count { try LibraryFixtures.writePhoto(photos, String(format: "p%03d.png", i), seed: UInt64(2000 + i), width: 48, height: 40) }
        let job = try CLIPEmbedJob(clip: try LibraryFixtures.clip(), kind: .image)
        _ = try BulkRunner(job: job, dataset: try Dataset(paths: [photos]), settings: BulkSettings(batchSize: 16, chunkSize: 25)).run(into: root + "/emb")
        let arguments = ["index", "--model", LibraryFixtures.model, "--import", root + "/emb", "--batch-size", "1", "--quiet"]

        let (interrupted, _) = try KilledRuns().run(arguments, library: root + "/killed", target: count, step: 5000, count: KilledRuns.files)
        XCTAssertGreaterThan(interrupted, 0, "no run was killed before it finished")

        let resumed = try LibraryFixtures.glimpse(arguments + ["--db", root + "/killed"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let whole = try LibraryFixtures.glimpse(arguments + ["--db", root + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertTrue(whole.stdout.contains("\"imported\":\(count)"), whole.stdout)

        let killed = try PhotoLibrary(folder: root + "/killed"), reference = try PhotoLibrary(folder: root + "/whole")
        XCTAssertEqual(try killed.catalogue.files().map(\.fullPath), try reference.catalogue.files().map(\.fullPath))
        XCTAssertEqual(try killed.catalogue.files().count, count)
        XCTAssertEqual(try killed.catalogue.slotCount(), count, "no embedding row lost or written twice")
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(killed), try LibraryFixtures.libraryEmbeddings(reference), tolerance: 0)

        let again = try LibraryFixtures.glimpse(arguments + ["--db", root + "/killed"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("\"imported\":0"), again.stdout)
    }
}
