import Foundation
import XCTest

/// `glimpse embed` over a dataset: the clip-retrieval layout, numbers equal to `embed --image`
/// / `--text` on the same inputs, every record accounted for, `--stdin`/`--stdout`, and
/// resuming after `kill -9` and SIGINT at random points.
final class BulkEmbedCLITests: XCTestCase {
    let model = CLITests.fixtures.appendingPathComponent("clip-tiny").path

    func glimpse(_ arguments: [String]) throws -> CLITests.Result { try CLITests.execute(arguments) }

    /// `embed --image` / `--text` (the single-input command) as the reference for the numbers.
    func singleEmbeddings(images: [String] = [], texts: [String] = [], failing: Int = 0) throws -> [[Float]] {
        var arguments = ["embed", "--model", model]
        if !images.isEmpty { arguments += ["--image"] + images }
        if !texts.isEmpty { arguments += ["--text"] + texts }
        let result = try glimpse(arguments)
        XCTAssertEqual(result.status, failing > 0 ? 1 : 0, result.stderr)
        XCTAssertEqual(result.lines.count, images.count + texts.count - failing)
        return result.lines.map { ($0["embedding"] as? [NSNumber] ?? []).map(\.floatValue) }
    }

    /// Rows equal to within float rounding: a batched matrix product may round a row
    /// differently when the batch around it differs (same batch: bit for bit, see below).
    func assertClose(_ a: [[Float]], _ b: [[Float]], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() {
            XCTAssertEqual(x.count, y.count, message, file: file, line: line)
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5, "row \(i) \(message)", file: file, line: line)
        }
    }

    /// With the same batches as `embed --image` / `embed --text` (one batch; failed inputs
    /// dropped from it on both sides), the numbers are identical.
    func testSameBatchesGiveIdenticalNumbers() throws {
        let data = try BulkFixture()
        for kind in ["image", "text"] {
            let out = data.root + "/out-\(kind)"
            let result = try glimpse(["embed", "--model", model, "--kind", kind, "--out", out, data.manifestPath])
            XCTAssertEqual(result.status, 0, result.stderr)
            let folder = try EmbeddingFolder(out)
            if kind == "image" {
                // Every image that decodes, the huge-text record's included (its text is not used).
                XCTAssertEqual(folder.metadata.count, 7)
                XCTAssertEqual(folder.images, try singleEmbeddings(images: data.manifestImages))
            } else {
                // Texts of records whose image resolves; the huge one fails to tokenize on both sides.
                let texts = folder.metadata.compactMap { $0["caption"] as? String }
                XCTAssertTrue(texts.contains("garbage bytes") && texts.contains("cut off") && texts.count >= 8, "\(texts)")
                XCTAssertEqual(texts.last, "cut off")
                XCTAssertEqual(folder.texts, try singleEmbeddings(texts: texts + [String(repeating: "too long ", count: 100)], failing: 1))
            }
        }
    }

    func testBulkEmbeddingsEqualTheEmbedCommandAndAccountForEveryRecord() throws {
        let data = try BulkFixture()
        let out = data.root + "/out"
        let result = try glimpse(["embed", "--model", model, "--kind", "both", "--batch-size", "4", "--chunk-size", "5", "--out", out] + data.inputs)
        XCTAssertEqual(result.status, 0, result.stderr)
        let folder = try EmbeddingFolder(out)
        // Manifest: 6 good + 1 bad line + missing + garbage + escaping + truncated + huge text (fails
        // tokenizing without --truncate); shard: 3; broken shard: 1 sample + 1 failure.
        XCTAssertEqual(folder.metadata.count, 6 + 3 + 1)
        XCTAssertEqual(folder.errors.count, 6 + 1, folder.errors.joined(separator: "\n"))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        XCTAssertEqual(summary["in"] as? Int, 17)
        XCTAssertEqual(summary["out"] as? Int, 10)
        XCTAssertEqual(summary["failed"] as? Int, 7)
        XCTAssertTrue(result.stderr.contains("17 in, 10 out, 7 failed"), result.stderr)

        let reasons = folder.errors.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        XCTAssertEqual(reasons.count, 7)
        for (needle, what) in [("not valid JSON", "bad line"), ("missing.jpg", "missing file"), ("garbage.jpg", "garbage image"),
                               ("etc/hostname", "escaping path"), ("truncated.jpg", "truncated JPEG"), ("tokens", "huge text"),
                               ("broken.tar", "broken shard")] {
            XCTAssertEqual(reasons.filter { ($0["reason"] ?? "").contains(needle) || ($0["key"] ?? "").contains(needle) }.count, 1, what)
        }

        // Rows in dataset order; the numbers are those of `embed --image` / `embed --text`.
        let images = data.manifestImages.prefix(6) + data.shardSamples.map(\.image) + [data.shardSamples[0].image]
        let texts = (0 ..< 6).map { "photo \($0) copy 0" } + data.shardSamples.map(\.text) + [data.shardSamples[0].text]
        XCTAssertEqual(folder.metadata.map { $0["caption"] as? String }, texts)
        assertClose(folder.images, try singleEmbeddings(images: Array(images)))
        assertClose(folder.texts, try singleEmbeddings(texts: texts))
        XCTAssertEqual(folder.metadata[0]["key"] as? String, data.manifestPath + ":1")
        XCTAssertEqual((folder.metadata[0]["metadata"] as? [String: Any])?["id"] as? Int, 0)
        XCTAssertEqual(folder.metadata[6]["key"] as? String, data.shardPath + ":sample0")
        XCTAssertEqual(folder.chunks, 4)
    }

    /// NumPy reads the files directly; values equal `embed --image` (float16: rounded as NumPy rounds).
    func testNumPyReadsTheFiles() throws {
        let python = ProcessInfo.processInfo.environment["GLIMPSE_TEST_PYTHON"] ?? "python3"
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = [python, "-c", "import numpy"]
        check.standardError = FileHandle.nullDevice
        try check.run(); check.waitUntilExit()
        try XCTSkipUnless(check.terminationStatus == 0, "python3 with numpy is not installed")

        let data = try BulkFixture()
        let expected = try singleEmbeddings(images: data.manifestImages)
        for dtype in ["fp32", "fp16"] {
            let out = data.root + "/out-\(dtype)"
            let result = try glimpse(["embed", "--model", model, "--dtype", dtype, "--out", out, data.manifestPath])
            XCTAssertEqual(result.status, 0, result.stderr)
            let script = """
                import json, sys, numpy as np
                a = np.load(sys.argv[1])
                print(json.dumps({"dtype": str(a.dtype), "shape": list(a.shape), "values": a.astype(np.float64).tolist(),
                                  "norms": np.linalg.norm(a.astype(np.float64), axis=1).tolist()}))
                """
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            reader.arguments = [python, "-c", script, out + "/img_emb/img_emb_0.npy"]
            let pipe = Pipe()
            reader.standardOutput = pipe
            try reader.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            reader.waitUntilExit()
            XCTAssertEqual(reader.terminationStatus, 0)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: output) as? [String: Any])
            XCTAssertEqual(json["dtype"] as? String, dtype == "fp32" ? "float32" : "float16")
            XCTAssertEqual(json["shape"] as? [Int], [7, expected[0].count])
            let values = try XCTUnwrap(json["values"] as? [[Double]])
            for (row, reference) in zip(values, expected) {
                for (value, want) in zip(row, reference) {
                    if dtype == "fp32" { XCTAssertEqual(Float(value), want) } else { XCTAssertEqual(Float(value), Float(Float16(want))) }
                }
            }
            for norm in try XCTUnwrap(json["norms"] as? [Double]) { XCTAssertEqual(norm, 1, accuracy: dtype == "fp32" ? 1e-5 : 2e-3) }
        }
    }

    /// `--stdin --stdout`: the lines a Spark `RDD.pipe` would send, paths absolute; one output
    /// line per input line, in order, the numbers those of the folder run.
    func testStreamingMode() throws {
        let data = try BulkFixture()
        let manifest = try String(contentsOfFile: data.manifestPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let absolute = manifest.map {
            $0.replacingOccurrences(of: "\"images/", with: "\"\(data.root)/data/images/")
                .replacingOccurrences(of: "\"images\\/", with: "\"\(data.root)/data/images/")
        }
        let result = try CLITests.execute(["embed", "--model", model, "--kind", "both", "--stdin", "--stdout", "--batch-size", "3"],
                                          input: absolute.joined(separator: "\n") + "\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.lines
        XCTAssertEqual(lines.count, manifest.count)
        let good = lines.filter { $0["error"] == nil }
        XCTAssertEqual(good.count, 6)
        XCTAssertEqual(lines.filter { $0["error"] != nil }.count, manifest.count - 6)
        XCTAssertEqual(lines[0]["key"] as? String, "stdin:1")
        let images = good.map { ($0["image_embedding"] as? [NSNumber] ?? []).map(\.floatValue) }
        assertClose(images, try singleEmbeddings(images: Array(data.manifestImages.prefix(6))))
        XCTAssertEqual(good.map { $0["caption"] as? String }, (0 ..< 6).map { "photo \($0) copy 0" })
    }

    func testShardsTogetherEqualTheWholeRun() throws {
        let data = try BulkFixture()
        let whole = data.root + "/whole"
        XCTAssertEqual(try glimpse(["embed", "--model", model, "--out", whole] + data.inputs).status, 0)
        let reference = try EmbeddingFolder(whole)
        var rows: [String: [Float]] = [:], errors: [String] = []
        for i in 0 ..< 3 {
            let out = data.root + "/shard\(i)"
            let result = try glimpse(["embed", "--model", model, "--shard", "\(i)/3", "--chunk-size", "2", "--out", out] + data.inputs)
            XCTAssertEqual(result.status, 0, result.stderr)
            let part = try EmbeddingFolder(out)
            for (meta, row) in zip(part.metadata, part.images) {
                let key = try XCTUnwrap(meta["key"] as? String)
                XCTAssertNil(rows[key], "\(key) twice")
                rows[key] = row
            }
            errors += part.errors
        }
        XCTAssertEqual(rows.count, reference.metadata.count)
        for (meta, row) in zip(reference.metadata, reference.images) { assertClose([rows[meta["key"] as? String ?? ""] ?? []], [row]) }
        XCTAssertEqual(errors.sorted(), reference.errors.sorted())
    }
}
