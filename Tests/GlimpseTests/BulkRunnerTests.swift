import Foundation
import GlimpseData
import XCTest
@testable import Glimpse

/// A job without a model: each record's output is its text uppercased; a text "fail" is a
/// per-record failure; `crashAt` makes the whole run throw when that text is processed (a
/// stand-in for a crash in the middle of a chunk).
struct UppercaseJob: BulkJob {
    var name = "upper"
    var crashAt: String?

    struct Crash: Error {}

    var fingerprint: String { name }
    func prepare(_ records: [DatasetRecord]) throws -> [String] { records.map { $0.text ?? "" } }

    func process(_ records: [DatasetRecord], prepared: [String]) throws -> [Result<String, DatasetFailure>] {
        try zip(records, prepared).map { record, text in
            if text == crashAt { throw Crash() }
            if text == "fail" { return .failure(DatasetFailure(key: record.key, source: record.source, reason: "was asked to fail")) }
            return .success(text.uppercased())
        }
    }

    func makeChunkWriter(chunk index: Int, staging: BulkStaging) throws -> LinesWriter {
        LinesWriter(file: try staging.create("out/out_\(index).txt"))
    }

    func streamFields(_ record: DatasetRecord, _ output: String) -> [(String, BulkJSON)] { [("upper", .string(output))] }
}

struct LinesWriter: BulkChunkWriter {
    let file: BulkFile
    mutating func append(_ record: DatasetRecord, _ output: String) throws { try file.write("\(record.key) \(output)\n") }
    mutating func finish() throws {}
}

final class BulkRunnerTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "glimpse-bulk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        try Data("not decoded by this job".utf8).write(to: URL(fileURLWithPath: root + "/data/a.jpg"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// A manifest of `texts` (all pointing at one image) plus one line that is not JSON.
    func dataset(_ texts: [String]) throws -> Dataset {
        var lines = texts.map { "{\"image\": \"a.jpg\", \"text\": \"\($0)\"}" }
        lines.insert("this is not JSON", at: min(3, lines.count))
        try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/data/m.jsonl", atomically: true, encoding: .utf8)
        return try Dataset(paths: [root + "/data/m.jsonl"])
    }

    let texts = ["a", "b", "fail", "c", "d", "e", "f", "fail", "g", "h", "i"]

    /// Output lines of all chunks in order, and the errors file's lines.
    func outputs(_ folder: String) throws -> (lines: [String], errors: [String]) {
        var lines: [String] = []
        var chunk = 0
        while let text = try? String(contentsOfFile: "\(folder)/out/out_\(chunk).txt", encoding: .utf8) {
            lines += text.split(separator: "\n").map(String.init)
            chunk += 1
        }
        let errors = try String(contentsOfFile: "\(folder)/errors.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        return (lines, errors)
    }

    func expectedLines(_ manifest: String) -> [String] {
        // Line 4 is the bad one; texts after it move down a line.
        texts.enumerated().filter { $0.element != "fail" }
            .map { "\(manifest):\($0.offset < 3 ? $0.offset + 1 : $0.offset + 2) \($0.element.uppercased())" }
    }

    func testRunWritesCommittedChunksErrorsAndSummary() throws {
        let data = try dataset(texts)
        let runner = try BulkRunner(job: UppercaseJob(), dataset: data, settings: BulkSettings(batchSize: 2, chunkSize: 3))
        let summary = try runner.run(into: root + "/out")
        XCTAssertEqual(summary.recordsIn, 12)
        XCTAssertEqual(summary.outputs, 9)
        XCTAssertEqual(summary.failed, 3)
        XCTAssertEqual(summary.chunks, 4)
        let (lines, errors) = try outputs(root + "/out")
        XCTAssertEqual(lines, expectedLines(root + "/data/m.jsonl"))
        XCTAssertEqual(errors.count, 3)
        let reasons = try errors.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])["reason"] }
        XCTAssertEqual(reasons, ["was asked to fail", "is not valid JSON", "was asked to fail"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/out/summary.json"))) as? [String: Any])
        XCTAssertEqual(json["in"] as? Int, 12)
        XCTAssertEqual(json["out"] as? Int, 9)
        XCTAssertEqual(json["failed"] as? Int, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/out/.staging"))
        // A second run of a complete job changes nothing.
        XCTAssertEqual(try runner.run(into: root + "/out").outputs, 9)
        XCTAssertEqual(try outputs(root + "/out").lines, lines)
    }

    /// Crashes at several places, each followed by a normal run: the result equals an
    /// uninterrupted run record for record, and each error is recorded once.
    func testResumeAfterCrashLosesAndDuplicatesNothing() throws {
        let data = try dataset(texts)
        let settings = BulkSettings(batchSize: 2, chunkSize: 3)
        try BulkRunner(job: UppercaseJob(), dataset: data, settings: settings).run(into: root + "/whole")
        let whole = try outputs(root + "/whole")
        for crash in ["b", "d", "e", "g", "i"] {
            let folder = root + "/crash-\(crash)"
            XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(crashAt: crash), dataset: data, settings: settings).run(into: folder))
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/summary.json"))
            try BulkRunner(job: UppercaseJob(), dataset: data, settings: settings).run(into: folder)
            let resumed = try outputs(folder)
            XCTAssertEqual(resumed.lines, whole.lines, "crash at \(crash)")
            XCTAssertEqual(resumed.errors, whole.errors, "crash at \(crash)")
        }
    }

    /// What a `kill -9` between renaming a chunk's files and syncing its journal line leaves:
    /// a file of the uncommitted chunk in place, a half-written journal line, errors past the
    /// committed length, staged files. The next run removes them all and redoes the chunk.
    func testLeftoversOfAnUncommittedChunkAreRemoved() throws {
        let data = try dataset(texts)
        let settings = BulkSettings(batchSize: 2, chunkSize: 3)
        try BulkRunner(job: UppercaseJob(), dataset: data, settings: settings).run(into: root + "/whole")
        let folder = root + "/out"
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(crashAt: "g"), dataset: data, settings: settings).run(into: folder))
        // Chunks 0 to 2 are committed; chunk 3 (g, h, i) is not.
        try "stale\n".write(toFile: folder + "/out/out_3.txt", atomically: false, encoding: .utf8)
        try "stale\n".write(toFile: folder + "/out/out_7.txt", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/.staging/out", withIntermediateDirectories: true)
        try "staged\n".write(toFile: folder + "/.staging/out/out_3.txt", atomically: false, encoding: .utf8)
        let journal = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/journal.jsonl"))
        journal.seekToEndOfFile(); journal.write(Data("{\"chunk\":3,\"posi".utf8)); journal.closeFile()
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/errors.jsonl"))
        errors.seekToEndOfFile(); errors.write(Data("{\"key\":\"uncommitted\"}\n".utf8)); errors.closeFile()

        try BulkRunner(job: UppercaseJob(), dataset: data, settings: settings).run(into: folder)
        let resumed = try outputs(folder), whole = try outputs(root + "/whole")
        XCTAssertEqual(resumed.lines, whole.lines)
        XCTAssertEqual(resumed.errors, whole.errors)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/out/out_7.txt"))
    }

    /// Killed while writing the journal's first line, or after marking the job complete but
    /// before writing summary.json: the next run starts over, or writes the summary.
    func testTornJournalHeaderAndMissingSummary() throws {
        let data = try dataset(texts)
        let folder = root + "/out"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "{\"format\":\"glimpse-bulk-jou".write(toFile: folder + "/journal.jsonl", atomically: true, encoding: .utf8)
        let runner = try BulkRunner(job: UppercaseJob(), dataset: data, settings: BulkSettings(chunkSize: 4))
        XCTAssertEqual(try runner.run(into: folder).outputs, 9)
        try FileManager.default.removeItem(atPath: folder + "/summary.json")
        XCTAssertEqual(try runner.run(into: folder).outputs, 9)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/summary.json"))
        XCTAssertEqual(try outputs(folder).lines, expectedLines(root + "/data/m.jsonl"))
    }

    func testDifferentJobOrShardIsRefused() throws {
        let data = try dataset(texts)
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(crashAt: "d"), dataset: data, settings: BulkSettings(chunkSize: 2)).run(into: root + "/out"))
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(name: "other"), dataset: data).run(into: root + "/out")) { error in
            XCTAssertTrue("\(error)".contains("different job"), "\(error)")
        }
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(), dataset: data, shard: try DatasetShard(index: 1, count: 2)).run(into: root + "/out")) { error in
            XCTAssertTrue("\(error)".contains("different job"), "\(error)")
        }
    }

    func testNonEmptyFolderWithoutJournalIsRefused() throws {
        let data = try dataset(texts)
        try FileManager.default.createDirectory(atPath: root + "/out", withIntermediateDirectories: true)
        try "mine\n".write(toFile: root + "/out/notes.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(), dataset: data).run(into: root + "/out")) { error in
            XCTAssertTrue("\(error)".contains("is not empty"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: root + "/out/notes.txt", encoding: .utf8), "mine\n")
    }

    /// Shards 0/3, 1/3, 2/3 together give every record of the whole run exactly once.
    func testShardsTogetherEqualTheWholeRun() throws {
        let data = try dataset(texts)
        var union: [String] = [], errors = 0
        for i in 0 ..< 3 {
            let folder = root + "/shard-\(i)"
            try BulkRunner(job: UppercaseJob(), dataset: data, shard: try DatasetShard(index: i, count: 3),
                           settings: BulkSettings(batchSize: 2, chunkSize: 2)).run(into: folder)
            let out = try outputs(folder)
            union += out.lines
            errors += out.errors.count
        }
        XCTAssertEqual(union.sorted(), expectedLines(root + "/data/m.jsonl").sorted())
        XCTAssertEqual(errors, 3)
    }

    func testStreamWritesOneLinePerItemInOrder() throws {
        let data = try dataset(texts)
        let runner = try BulkRunner(job: UppercaseJob(), dataset: data, settings: BulkSettings(batchSize: 3))
        var text = ""
        let summary = try runner.stream(data) { text += $0 }
        let lines = try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]) }
        XCTAssertEqual(lines.count, 12)
        XCTAssertEqual(summary.outputs, 9)
        XCTAssertEqual(lines.compactMap { $0["upper"] }, texts.filter { $0 != "fail" }.map { $0.uppercased() })
        XCTAssertEqual(lines[3]["error"], "is not valid JSON")
        XCTAssertEqual(lines[2]["error"], "was asked to fail")
    }

    func testBadSettingsAreRefused() throws {
        let data = try dataset(texts)
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(), dataset: data, settings: BulkSettings(batchSize: 0)))
        XCTAssertThrowsError(try BulkRunner(job: UppercaseJob(), dataset: data, settings: BulkSettings(chunkSize: 0)))
    }
}
