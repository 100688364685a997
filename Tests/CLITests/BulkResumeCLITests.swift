import Foundation
import XCTest

/// Kills `glimpse embed` over a dataset with `kill -9` at random points (seeded), runs it
/// again until it completes, and checks the output equals an uninterrupted run record for
/// record: no row lost or duplicated, each failure (a bad manifest line, a missing file, a
/// corrupt image, a broken shard member) in errors.jsonl exactly once.
final class BulkResumeCLITests: XCTestCase {
    let model = CLITests.fixtures.appendingPathComponent("clip-tiny").path

    /// SplitMix64: the kill points are the same on every run of the test.
    struct Seeded {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    func arguments(_ data: BulkFixture, out: String) -> [String] {
        ["embed", "--model", model, "--kind", "both", "--batch-size", "2", "--chunk-size", "3", "--quiet", "--out", out] + data.inputs
    }

    func journalLines(_ out: String) -> Int {
        ((try? String(contentsOfFile: out + "/journal.jsonl", encoding: .utf8)) ?? "").filter { $0 == "\n" }.count
    }

    func assertSame(_ folder: String, as reference: EmbeddingFolder, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let resumed = try EmbeddingFolder(folder)
        XCTAssertEqual(resumed.metadataLines, reference.metadataLines, message, file: file, line: line)
        XCTAssertEqual(resumed.images, reference.images, message, file: file, line: line)
        XCTAssertEqual(resumed.texts, reference.texts, message, file: file, line: line)
        XCTAssertEqual(resumed.errors, reference.errors, message, file: file, line: line)
        XCTAssertEqual(Set(resumed.metadata.compactMap { $0["key"] as? String }).count, resumed.metadata.count, "duplicate keys", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/.staging"), message, file: file, line: line)
    }

    func testKillNineAtRandomPointsThenResume() throws {
        let data = try BulkFixture(copies: 3)
        let referenceOut = data.root + "/reference"
        let whole = try CLITests.execute(arguments(data, out: referenceOut))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let reference = try EmbeddingFolder(referenceOut)
        let chunks = journalLines(referenceOut) - 2  // less the header and the completion line
        XCTAssertGreaterThan(chunks, 5)
        XCTAssertEqual(reference.errors.count, 3 * 6 + 1)

        var random = Seeded(state: 20_261_130)
        var midRunKills = 0
        for trial in 0 ..< 3 {
            let out = data.root + "/run\(trial)"
            var kills = 0, finished = false
            for _ in 0 ..< 4 {
                // Kill once the journal has grown by a random number of chunks (0: during start-up),
                // plus a random few milliseconds, so kills land in every phase of a chunk.
                let target = journalLines(out) + random.below(3)
                let delay = UInt32(random.below(4000))
                let process = try CLITests.start(arguments(data, out: out), logs: data.root)
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning, journalLines(out) < target, Date() < deadline { usleep(500) }
                usleep(delay)
                guard process.isRunning else {
                    process.waitUntilExit()
                    XCTAssertEqual(process.terminationStatus, 0)
                    finished = true
                    break
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                kills += 1
                if journalLines(out) > 1 { midRunKills += 1 }
            }
            if !finished {
                let rest = try CLITests.execute(arguments(data, out: out))
                XCTAssertEqual(rest.status, 0, rest.stderr)
            }
            try assertSame(out, as: reference, "trial \(trial) after \(kills) kills")
        }
        XCTAssertGreaterThan(midRunKills, 0, "no kill landed after a chunk was committed")
    }

    /// SIGINT: the run keeps what it committed, says that running again continues, exits 130; the
    /// next run completes it with the same result.
    func testInterruptKeepsCommittedWorkAndResumes() throws {
        let data = try BulkFixture(copies: 3)
        let referenceOut = data.root + "/reference"
        XCTAssertEqual(try CLITests.execute(arguments(data, out: referenceOut)).status, 0)
        let reference = try EmbeddingFolder(referenceOut)

        let out = data.root + "/interrupted"
        let process = try CLITests.start(arguments(data, out: out), logs: data.root)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, journalLines(out) < 3, Date() < deadline { usleep(500) }
        process.interrupt()
        process.waitUntilExit()
        let stderr = try String(contentsOfFile: data.root + "/stderr.log", encoding: .utf8)
        if process.terminationStatus != 0 {
            XCTAssertEqual(process.terminationStatus, 130, stderr)
            XCTAssertTrue(stderr.contains("running the same command again continues"), stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/summary.json"))
        }
        let rest = try CLITests.execute(arguments(data, out: out))
        XCTAssertEqual(rest.status, 0, rest.stderr)
        try assertSame(out, as: reference, "after SIGINT")
    }
}
