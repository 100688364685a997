import Foundation
import XCTest
@testable import GlimpseSearch
#if canImport(Glibc)
import Glibc
#endif

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

        var interrupted = 0
        var previous = 0
        for attempt in 0 ..< 4 {
            let process = Process()
            process.executableURL = LibraryFixtures.executable
            process.arguments = arguments + ["--db", root + "/killed"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date(timeIntervalSinceNow: 60)
            while process.isRunning && Date() < deadline {
                if let rows = try? catalogued(root + "/killed"), rows > previous { break }
                usleep(5_000)
            }
            usleep(UInt32(attempt * 5000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { interrupted += 1 }
            previous = (try? catalogued(root + "/killed")) ?? previous
            if previous >= count { break }
        }
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

    private var open: [String: Catalogue] = [:]

    private func catalogued(_ library: String) throws -> Int {
        let path = library + "/catalogue.sqlite"
        if open[path] == nil {
            guard FileManager.default.fileExists(atPath: path) else { return 0 }
            open[path] = try Catalogue(path: path)
        }
        return try open[path]?.files().count ?? 0
    }
}
