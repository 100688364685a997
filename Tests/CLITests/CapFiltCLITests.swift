import Foundation
import XCTest

/// `glimpse capfilt` over a small dataset (a manifest with a corrupt image, an empty text and
/// a missing file, and a WebDataset shard) with the tiny BLIP checkpoints: every record is
/// in the output or in errors.jsonl, the scores are those of `glimpse match` on the same
/// pair, the summary counts what the output holds, and the output does not depend on the
/// batch size, the shard split, the output format or the input's keys.
final class CapFiltCLITests: XCTestCase {
    let captioner = CLITests.fixtures.appendingPathComponent("blip-caption-tiny").path
    let filter = CLITests.fixtures.appendingPathComponent("blip-itm-tiny").path

    /// A scratch dataset: data/manifest.jsonl (7 lines: 4 good, corrupt, empty text, missing)
    /// and data/shard.tar (2 samples).
    final class Scratch {
        let root = NSTemporaryDirectory() + "glimpse-capfilt-cli-\(UUID().uuidString)"
        let good = ["chelsea.png", "horse.png", "lion.jpg", "grace_hopper.jpg"]
        init() throws {
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/data/images", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: root + "/shard", withIntermediateDirectories: true)
            for name in good + ["cheetah.jpg"] {
                try fm.copyItem(atPath: CLITests.fixtures.appendingPathComponent("images/\(name)").path, toPath: root + "/data/images/\(name)")
            }
            let lion = try Data(contentsOf: URL(fileURLWithPath: root + "/data/images/lion.jpg"))
            try lion.prefix(600).write(to: URL(fileURLWithPath: root + "/data/images/corrupt.jpg"))
            let lines = [
                #"{"image": "images/chelsea.png", "text": "a cat lying on a blanket"}"#,
                #"{"image": "images/corrupt.jpg", "text": "a broken picture"}"#,
                #"{"image": "images/horse.png", "text": "a horse"}"#,
                #"{"image": "images/cheetah.jpg", "text": ""}"#,
                #"{"image": "images/lion.jpg", "text": "a lion", "id": 7}"#,
                #"{"image": "images/missing.jpg", "text": "not there"}"#,
                #"{"image": "images/grace_hopper.jpg", "text": "a woman in uniform"}"#,
            ]
            try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/data/manifest.jsonl", atomically: true, encoding: .utf8)
            try fm.copyItem(atPath: root + "/data/images/horse.png", toPath: root + "/shard/s0.png")
            try "a horse in a shard".write(toFile: root + "/shard/s0.txt", atomically: true, encoding: .utf8)
            try fm.copyItem(atPath: root + "/data/images/chelsea.png", toPath: root + "/shard/s1.png")
            try #"{"caption": "a cat in a shard"}"#.write(toFile: root + "/shard/s1.json", atomically: true, encoding: .utf8)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = ["tar", "--format=ustar", "-cf", root + "/data/shard.tar", "-C", root + "/shard", "s0.png", "s0.txt", "s1.png", "s1.json"]
            try tar.run()
            tar.waitUntilExit()
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
        var manifest: String { root + "/data/manifest.jsonl" }
        var shard: String { root + "/data/shard.tar" }
        var inputs: [String] { [manifest, shard] }
    }

    func capfilt(_ data: Scratch, out: String, _ extra: [String] = []) throws -> CLITests.Result {
        let result = try CLITests.execute(["capfilt", "--captioner", captioner, "--filter", filter, "--captions-per-image", "2",
                                           "--max-length", "14", "--min-length", "8", "--seed", "3", "--out", out] + extra + data.inputs)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Every chunk's objects, in order.
    static func records(_ out: String, format: String = "jsonl") throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var chunk = 0
        while FileManager.default.fileExists(atPath: out + "/capfilt/" + String(format: "%05d.jsonl", chunk)) {
            all += try jsonLines(out + "/capfilt/" + String(format: "%05d.jsonl", chunk))
            chunk += 1
        }
        return all
    }

    /// What a comparison across runs looks at: per image path, the candidates' texts,
    /// sources and kept flags, and their scores.
    static func candidates(_ record: [String: Any]) -> [(text: String, source: String, itm: Float, itc: Float, kept: Bool)] {
        ((record["candidates"] as? [[String: Any]]) ?? []).map {
            (($0["text"] as? String) ?? "", ($0["source"] as? String) ?? "", (($0["itm"] as? NSNumber)?.floatValue) ?? .nan,
             (($0["itc"] as? NSNumber)?.floatValue) ?? .nan, ($0["kept"] as? Bool) ?? false)
        }
    }

    func assertSameRecords(_ a: [[String: Any]], _ b: [[String: Any]], by field: String = "key", _ message: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        let indexed = Dictionary(b.map { (($0[field] as? String) ?? "", $0) }, uniquingKeysWith: { x, _ in x })
        for record in a {
            let id = (record[field] as? String) ?? ""
            guard let other = indexed[id] else { XCTFail("\(message): \(id) missing", file: file, line: line); continue }
            let x = Self.candidates(record), y = Self.candidates(other)
            XCTAssertEqual(x.map(\.text), y.map(\.text), "\(message): \(id) texts", file: file, line: line)
            XCTAssertEqual(x.map(\.source), y.map(\.source), "\(message): \(id) sources", file: file, line: line)
            XCTAssertEqual(x.map(\.kept), y.map(\.kept), "\(message): \(id) kept", file: file, line: line)
            for (p, q) in zip(x, y) {
                XCTAssertEqual(p.itm, q.itm, accuracy: 1e-5, "\(message): \(id) itm", file: file, line: line)
                XCTAssertEqual(p.itc, q.itc, accuracy: 1e-5, "\(message): \(id) itc", file: file, line: line)
            }
        }
    }

    func testEveryRecordAccountedForAndScoresEqualMatch() throws {
        let data = try Scratch()
        let out = data.root + "/out"
        let result = try capfilt(data, out: out, ["--batch-size", "3"])
        let records = try Self.records(out)
        let errors = try Self.jsonLines(out + "/errors.jsonl")
        // 9 records: 4 good manifest lines + 2 shard samples out; corrupt, empty text, missing in errors.
        XCTAssertEqual(records.count, 6)
        XCTAssertEqual(errors.count, 3, "\(errors)")
        let keys = records.compactMap { $0["key"] as? String } + errors.compactMap { $0["key"] as? String }
        XCTAssertEqual(Set(keys).count, 9)
        XCTAssertEqual(Set(keys), Set((1 ... 7).map { "\(data.manifest):\($0)" } + ["\(data.shard):s0", "\(data.shard):s1"]))
        let reasons = Dictionary(uniqueKeysWithValues: errors.map { (($0["key"] as? String) ?? "", ($0["reason"] as? String) ?? "") })
        XCTAssertTrue(reasons["\(data.manifest):2"]?.contains("corrupt.jpg") == true, "\(reasons)")
        XCTAssertTrue(reasons["\(data.manifest):4"]?.contains("empty text") == true, "\(reasons)")
        XCTAssertTrue(reasons["\(data.manifest):6"]?.contains("missing.jpg") == true, "\(reasons)")

        // Each candidate's scores are `glimpse match`'s on the same image and text.
        for record in records {
            let candidates = Self.candidates(record)
            XCTAssertEqual(candidates.count, 3)
            XCTAssertEqual(candidates.first?.source, "web")
            XCTAssertEqual(candidates.dropFirst().map(\.source), ["synthetic", "synthetic"])
            XCTAssertEqual(record["kept"] as? [String], candidates.filter(\.kept).map(\.text))
            let key = try XCTUnwrap(record["key"] as? String)
            // The shard's samples hold copies of horse.png and chelsea.png.
            let image = key.hasSuffix(".tar:s0") ? data.root + "/data/images/horse.png"
                : key.hasSuffix(".tar:s1") ? data.root + "/data/images/chelsea.png" : try XCTUnwrap(record["image_path"] as? String)
            try compare(candidates, image: image)
        }

        // The summary counts what the output holds.
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let capfilt = try XCTUnwrap(summary["capfilt"] as? [String: Any])
        let all = records.flatMap(Self.candidates)
        XCTAssertEqual(summary["in"] as? Int, 9)
        XCTAssertEqual(capfilt["pairs_in"] as? Int, 9)
        XCTAssertEqual(capfilt["images"] as? Int, 6)
        XCTAssertEqual(capfilt["failures"] as? Int, 3)
        XCTAssertEqual(capfilt["web_texts"] as? Int, all.filter { $0.source == "web" }.count)
        XCTAssertEqual(capfilt["web_kept"] as? Int, all.filter { $0.source == "web" && $0.kept }.count)
        XCTAssertEqual(capfilt["synthetic_captions"] as? Int, 12)
        XCTAssertEqual(capfilt["synthetic_kept"] as? Int, all.filter { $0.source == "synthetic" && $0.kept }.count)
        let webKept = Double(all.filter { $0.source == "web" && $0.kept }.count) * 100 / 6
        XCTAssertEqual((capfilt["web_kept_percent"] as? NSNumber)?.doubleValue ?? -1, webKept, accuracy: 0.01)
        XCTAssertNotNil(capfilt["images_per_s"] as? NSNumber)
        XCTAssertTrue(result.stderr.contains("glimpse: capfilt: 9 pairs in, 6 images captioned and filtered, 3 failed"), result.stderr)
        // Default keep rule: the ITM head's argmax.
        for candidate in all { XCTAssertEqual(candidate.kept, candidate.itm > 0.5, candidate.text) }
    }

    private func compare(_ candidates: [(text: String, source: String, itm: Float, itc: Float, kept: Bool)], image: String) throws {
        let match = try CLITests.execute(["match", "--model", filter, image, "--text"] + candidates.map(\.text))
        XCTAssertEqual(match.status, 0, match.stderr)
        let lines = match.lines
        XCTAssertEqual(lines.map { $0["text"] as? String }, candidates.map(\.text))
        for (line, candidate) in zip(lines, candidates) {
            XCTAssertEqual((line["itm"] as? NSNumber)?.floatValue ?? .nan, candidate.itm, accuracy: 1e-5, candidate.text)
            XCTAssertEqual((line["itc"] as? NSNumber)?.floatValue ?? .nan, candidate.itc, accuracy: 1e-5, candidate.text)
        }
    }

    /// One image and its web text alone (batch 1, no captions) is the very computation
    /// `glimpse match` does: the printed numbers are identical.
    func testWebTextAloneEqualsMatchExactly() throws {
        let data = try Scratch()
        let out = data.root + "/web"
        let result = try CLITests.execute(["capfilt", "--captioner", captioner, "--filter", filter, "--captions-per-image", "0",
                                           "--batch-size", "1", "--quiet", "--out", out, data.manifest])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try String(contentsOfFile: out + "/capfilt/00000.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        for (line, (name, text)) in zip(lines, [("chelsea.png", "a cat lying on a blanket"), ("horse.png", "a horse"),
                                                 ("lion.jpg", "a lion"), ("grace_hopper.jpg", "a woman in uniform")]) {
            let match = try CLITests.execute(["match", "--model", filter, data.root + "/data/images/" + name, "--text", text])
            let printed = try XCTUnwrap(match.stdout.split(separator: "\n").first)
            // The same number text: "itm":0.68843085,"itc":-0.22301301 in both.
            for field in ["itm", "itc"] {
                let value = try XCTUnwrap(printed.components(separatedBy: "\"\(field)\":").last?.prefix { $0 != "," && $0 != "}" })
                XCTAssertTrue(line.contains("\"\(field)\":\(value),"), "\(field) \(value) in \(line)")
            }
        }
    }

    /// Batch size, shard split, output format and streaming through standard input change nothing.
    func testSameRecordsAcrossBatchesShardsFormatsAndStreams() throws {
        let data = try Scratch()
        let whole = try Self.records({ _ = try capfilt(data, out: data.root + "/b1", ["--batch-size", "1", "--quiet"]); return data.root + "/b1" }())
        let batched = try Self.records({ _ = try capfilt(data, out: data.root + "/b4", ["--batch-size", "4", "--chunk-size", "4", "--quiet"]); return data.root + "/b4" }())
        assertSameRecords(batched, whole, "batch 4 vs 1")
        var union: [[String: Any]] = []
        for i in 0 ..< 2 {
            _ = try capfilt(data, out: data.root + "/shard\(i)", ["--shard", "\(i)/2", "--batch-size", "3", "--quiet"])
            union += try Self.records(data.root + "/shard\(i)")
        }
        assertSameRecords(union, whole, "shards 0/2 ∪ 1/2 vs whole")

        // WebDataset shards: the same objects, the kept texts and the original image bytes.
        let wds = data.root + "/wds"
        _ = try capfilt(data, out: wds, ["--format", "wds", "--quiet"])
        let tarPath = wds + "/capfilt/00000.tar"
        let members = try tar(["-tf", tarPath]).split(separator: "\n").map(String.init)
        XCTAssertEqual(members.count, 18)
        var fromTar: [[String: Any]] = []
        for json in members.filter({ $0.hasSuffix(".json") }) {
            let stem = String(json.dropLast(5))
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try tar(["-xOf", tarPath, json]).utf8)) as? [String: Any])
            fromTar.append(object)
            XCTAssertEqual(try tar(["-xOf", tarPath, stem + ".txt"]), ((object["kept"] as? [String]) ?? []).map { $0 + "\n" }.joined())
            let imageMember = try XCTUnwrap(members.first { $0.hasPrefix(stem + ".") && ($0.hasSuffix(".png") || $0.hasSuffix(".jpg")) })
            let key = try XCTUnwrap(object["key"] as? String)
            let original = key.hasSuffix("s0") ? "horse.png" : key.hasSuffix("s1") ? "chelsea.png" : ((object["image_path"] as? String) ?? "")
            let expected = try Data(contentsOf: URL(fileURLWithPath: original.hasPrefix("/") ? original : data.root + "/data/images/" + original))
            XCTAssertEqual(try tarBytes(["-xOf", tarPath, imageMember]), expected, imageMember)
        }
        assertSameRecords(fromTar, whole, "wds vs jsonl")

        // The manifest streamed through --stdin/--stdout (keys stdin:N): the same captions and scores.
        let manifest = try String(contentsOfFile: data.manifest, encoding: .utf8).replacingOccurrences(of: "images/", with: data.root + "/data/images/")
        let streamed = try CLITests.execute(["capfilt", "--captioner", captioner, "--filter", filter, "--captions-per-image", "2",
                                             "--max-length", "14", "--min-length", "8", "--seed", "3", "--quiet", "--stdin", "--stdout"], input: manifest)
        XCTAssertEqual(streamed.status, 0, streamed.stderr)
        let lines = streamed.lines
        XCTAssertEqual(lines.count, 7)
        XCTAssertEqual(lines.filter { $0["error"] != nil }.count, 3)
        let byPath = { (records: [[String: Any]]) in records.filter { $0["error"] == nil }.map { record -> [String: Any] in
            var r = record; r["id"] = ((record["image_path"] as? String) ?? "").components(separatedBy: "/").last; return r } }
        assertSameRecords(byPath(lines), byPath(whole.filter { !(($0["key"] as? String) ?? "").contains(".tar") }), by: "id", "stdin vs manifest")
    }

    /// Killed with SIGKILL after 1, 2 and 3 committed chunks, the same command completes the
    /// run; the WebDataset shards, stats, errors and summary equal an uninterrupted run's.
    func testKillNineThenResumeEqualsUninterrupted() throws {
        let data = try Scratch()
        let arguments = ["capfilt", "--captioner", captioner, "--filter", filter, "--captions-per-image", "2", "--max-length", "14",
                         "--min-length", "8", "--batch-size", "1", "--chunk-size", "2", "--format", "wds", "--quiet"]
        let reference = data.root + "/reference"
        XCTAssertEqual(try CLITests.execute(arguments + ["--out", reference] + data.inputs).status, 0)
        let journal = { (out: String) in ((try? String(contentsOfFile: out + "/journal.jsonl", encoding: .utf8)) ?? "").filter { $0 == "\n" }.count }
        var midRun = 0
        for chunks in 1 ... 3 {
            let out = data.root + "/killed\(chunks)"
            let process = try CLITests.start(arguments + ["--out", out] + data.inputs, logs: data.root)
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, journal(out) < 1 + chunks, Date() < deadline { usleep(500) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); midRun += 1 }
            process.waitUntilExit()
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/summary.json") && process.terminationStatus != 0)
            let rest = try CLITests.execute(arguments + ["--out", out] + data.inputs)
            XCTAssertEqual(rest.status, 0, rest.stderr)
            let names = try FileManager.default.contentsOfDirectory(atPath: reference + "/capfilt").sorted()
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/capfilt").sorted(), names)
            for name in names {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/capfilt/" + name)),
                               try Data(contentsOf: URL(fileURLWithPath: reference + "/capfilt/" + name)), "\(name) after a kill at chunk \(chunks)")
            }
            XCTAssertEqual(try String(contentsOfFile: out + "/errors.jsonl", encoding: .utf8),
                           try String(contentsOfFile: reference + "/errors.jsonl", encoding: .utf8))
            let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
            let capfilt = try XCTUnwrap(summary["capfilt"] as? [String: Any])
            XCTAssertEqual(capfilt["pairs_in"] as? Int, 9)
            XCTAssertEqual(capfilt["images"] as? Int, 6)
            XCTAssertEqual(capfilt["synthetic_captions"] as? Int, 12)
        }
        XCTAssertGreaterThan(midRun, 0, "no kill landed before the run finished")
    }

    private func tarBytes(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return bytes
    }

    private func tar(_ arguments: [String]) throws -> String { String(decoding: try tarBytes(arguments), as: UTF8.self) }
}
