import Foundation
import XCTest

/// Bulk embedding given hostile inputs and output folders: every bad record is reported on
/// its own and the run goes on; nothing is ever written outside --out; folders that are not
/// this job's are refused untouched.
final class HostileBulkCLITests: XCTestCase {
    let model = CLITests.fixtures.appendingPathComponent("clip-tiny").path

    func embed(_ arguments: [String]) throws -> CLITests.Result {
        try CLITests.execute(["embed", "--model", model, "--quiet"] + arguments)
    }

    func errors(_ out: String) throws -> [[String: String]] {
        try String(contentsOfFile: out + "/errors.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]) }
    }

    func testHostileManifestLinesAreReportedOneByOne() throws {
        let data = try BulkFixture()
        let manifest = data.root + "/data/hostile.jsonl"
        let lines = [
            "{\"image\": \"images/lion.jpg\", \"text\": \"good\"}",
            String(repeating: "x", count: (1 << 20) + 10),                      // longer than a manifest line may be
            "[1, 2, 3]",                                                          // JSON, not an object
            "{\"image\": 42}",                                                    // wrong type
            "{\"image\": \"images/\\u0000lion.jpg\"}",                            // NUL in the path
            "{\"image\": \"/dev/zero\"}",                                         // a device
            "{\"image\": \"images\"}",                                            // a folder
            "\u{FF}\u{FE} not UTF-8",
            "{\"image\": \"images/garbage.jpg\", \"text\": \"garbage\"}",
            "{\"image\": \"images/horse.png\", \"text\": \"good too\"}",
        ]
        var bytes = Data(lines.joined(separator: "\n").utf8)
        bytes.append(contentsOf: [0x0A, 0xC3, 0x28, 0x0A])  // an invalid UTF-8 sequence as a line
        try bytes.write(to: URL(fileURLWithPath: manifest))
        let out = data.root + "/out"
        let result = try embed(["--out", out, manifest])
        XCTAssertEqual(result.status, 0, result.stderr)
        let folder = try EmbeddingFolder(out)
        XCTAssertEqual(folder.metadata.compactMap { $0["caption"] as? String }, ["good", "good too"])
        XCTAssertEqual(try errors(out).count, lines.count - 2 + 1)
    }

    func testForeignOrBlockedOutputFoldersAreRefusedUntouched() throws {
        let data = try BulkFixture()
        // Not empty and not a bulk job's folder.
        let foreign = data.root + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try "keep me".write(toFile: foreign + "/notes.txt", atomically: true, encoding: .utf8)
        var result = try embed(["--out", foreign, data.manifestPath])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("is not empty"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: foreign), ["notes.txt"])

        // A file where the folder should be.
        let file = data.root + "/file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        result = try embed(["--out", file, data.manifestPath])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "x")

        // Another job's folder (other options) is refused, not mixed.
        let out = data.root + "/out"
        XCTAssertEqual(try embed(["--out", out, data.manifestPath]).status, 0)
        result = try embed(["--out", out, "--kind", "text", data.manifestPath])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("different job"), result.stderr)
    }

    /// A link planted inside an interrupted run's folder, where the next chunk's files go, is
    /// an uncommitted leftover like any other: removed, never followed.
    func testLinksPlantedInTheOutputFolderAreNotFollowed() throws {
        let data = try BulkFixture()
        let out = data.root + "/out"
        let outside = data.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        // A journal with only its header: a run that stopped before its first chunk.
        XCTAssertEqual(try embed(["--out", out, "--chunk-size", "1", data.manifestPath]).status, 0)
        let reference = try EmbeddingFolder(out)
        let journal = try String(contentsOfFile: out + "/journal.jsonl", encoding: .utf8)
        let header = String(journal.split(separator: "\n")[0]) + "\n"
        try FileManager.default.removeItem(atPath: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try header.write(toFile: out + "/journal.jsonl", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: out + "/img_emb", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: out + "/metadata", withDestinationPath: outside)
        let result = try embed(["--out", out, "--chunk-size", "1", data.manifestPath])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
        let attributes = try FileManager.default.attributesOfItem(atPath: out + "/img_emb")
        XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeDirectory)
        XCTAssertEqual(try EmbeddingFolder(out).images, reference.images)
    }

    /// Standard input that is binary noise and half lines: one error line per input line.
    func testGarbageOnStandardInputIsReportedPerLine() throws {
        var input = ""
        for i in 0 ..< 50 { input += String(repeating: "\u{7}{\"image\":", count: i % 7) + "\n" }
        let result = try CLITests.execute(["embed", "--model", model, "--stdin", "--stdout", "--quiet"], input: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.lines
        XCTAssertEqual(lines.count, 50 - 8)  // blank lines (i % 7 == 0) are skipped
        XCTAssertTrue(lines.allSatisfy { $0["error"] is String })
    }

    func testBulkOptionsAreChecked() throws {
        let data = try BulkFixture()
        for arguments in [["--stdin"], ["--stdin", "--stdout", data.manifestPath], [data.manifestPath],
                          ["--out", data.root + "/o", "--stdout", data.manifestPath], ["--out", data.root + "/o", "--shard", "3/2", data.manifestPath],
                          ["--out", data.root + "/o", "--chunk-size", "0", data.manifestPath], ["--out", data.root + "/o", "--image", data.manifestImages[0], data.manifestPath]] {
            let result = try embed(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.root + "/o"))
    }
}
