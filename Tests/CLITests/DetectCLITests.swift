import Foundation
import XCTest

/// `glimpse detect` and `glimpse eval-detection` as a user runs them; expected detections
/// come from the transformers reference fixture (Tools/fixtures/make_owlvit_fixtures.py).
final class DetectCLITests: XCTestCase {
    enum cli { static func run(_ arguments: [String]) throws -> CLITests.Result { try CLITests.execute(arguments) } }
    var model: String { CLITests.fixtures.appendingPathComponent("owlvit-tiny").path }
    var dining: String { CLITests.fixtures.appendingPathComponent("detection/voc_dining.jpg").path }
    func fixture(_ name: String) -> String { CLITests.fixtures.appendingPathComponent(name).path }
    func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: CLITests.fixtures.appendingPathComponent("owlvit/owlvit-tiny.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
    func temp() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Output detections (sorted by score) against reference ones (in patch order).
    func assertMatches(_ line: [String: Any], _ expected: [[String: Any]], labels: [String]?, file: StaticString = #filePath, line l: UInt = #line) throws {
        let found = try XCTUnwrap(line["detections"] as? [[String: Any]])
        let want = expected.sorted { ($0["score"] as! Double) > ($1["score"] as! Double) }
        XCTAssertEqual(found.count, want.count, file: file, line: l)
        for (a, e) in zip(found, want) {
            XCTAssertEqual(try XCTUnwrap(a["score"] as? Double), try XCTUnwrap(e["score"] as? Double), accuracy: 1e-4, file: file, line: l)
            for (x, y) in zip(try XCTUnwrap(a["box"] as? [Double]), try XCTUnwrap(e["box"] as? [Double])) {
                XCTAssertEqual(x, y, accuracy: 0.5, file: file, line: l)  // 1e-3 of the 500 px side
            }
            if let labels { XCTAssertEqual(a["label"] as? String, labels[try XCTUnwrap(e["label"] as? Int)], file: file, line: l) }
        }
    }

    func testTextQueriesMatchReferenceAndDraw() throws {
        let ref = try reference()
        let queries = try XCTUnwrap(ref["text_queries"] as? [[String]])[0]
        let expected = try XCTUnwrap(ref["text_detections"] as? [[[String: Any]]])[0]
        let png = try temp().appendingPathComponent("out.png").path
        let result = try cli.run(["detect", "--model", model, dining, "--threshold", "0.3", "--draw", png, "--query"] + queries)
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = try XCTUnwrap(result.lines.first)
        XCTAssertEqual(line["image"] as? String, dining)
        XCTAssertEqual(line["width"] as? Int, 500)
        XCTAssertEqual(line["height"] as? Int, 375)
        try assertMatches(line, expected, labels: queries)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertEqual(bytes[16...23].map { $0 }, [0, 0, 1, 0xF4, 0, 0, 1, 0x77], "PNG of 500×375")
    }

    func testQueryImageMatchesReferenceAndDrawDir() throws {
        let ref = try reference()
        let guided = try XCTUnwrap(ref["guided"] as? [[String: Any]])[0]   // voc_dining × lion.jpg
        let setting = try XCTUnwrap(guided["results"] as? [[String: Any]])[0] // threshold 0, NMS 0.3
        let expected = try XCTUnwrap(setting["detections"] as? [[String: Any]])
        let dir = try temp().appendingPathComponent("drawn").path
        let result = try cli.run(["detect", "--model", model, dining, fixture("images/camera.png"),
                                  "--query-image", fixture("images/lion.jpg"), "--draw-dir", dir])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.count, 2)
        try assertMatches(result.lines[0], expected, labels: nil)
        XCTAssertTrue((result.lines[0]["detections"] as? [[String: Any]] ?? []).allSatisfy { $0["label"] as? String == "lion.jpg" })
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["voc_dining.png", "camera.png"])
    }

    func testEvalDetection() throws {
        let dir = try temp()
        let gt = fixture("detection/voc_dining.json")
        // The ground truth as detections: AP 1.
        let truth = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: gt))) as? [String: Any])
        let objects = try XCTUnwrap(truth["objects"] as? [[String: Any]])
        let perfect: [String: Any] = ["image": "some/dir/voc_dining.jpg", "detections": objects.map { ["label": $0["label"]!, "score": 1, "box": $0["box_xyxy"]!] }]
        let file = dir.appendingPathComponent("perfect.jsonl")
        try JSONSerialization.data(withJSONObject: perfect).write(to: file)
        let result = try cli.run(["eval-detection", "--ground-truth", gt, "--detections", file.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.first?["AP"] as? Double ?? 0, 1, accuracy: 1e-6)
        XCTAssertEqual((result.lines.first?["classes"] as? [Any])?.count, 4)
        // detect → eval-detection end to end (random weights: a valid score, not a good one).
        let detected = try cli.run(["detect", "--model", model, dining, "--query", "person", "chair", "bottle", "diningtable"])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        let out = dir.appendingPathComponent("found.jsonl")
        try detected.stdout.write(to: out, atomically: true, encoding: .utf8)
        let scored = try cli.run(["eval-detection", "--ground-truth", gt, "--detections", out.path])
        XCTAssertEqual(scored.status, 0, scored.stderr)
        let ap = try XCTUnwrap(scored.lines.first?["AP"] as? Double)
        XCTAssertTrue((0...1).contains(ap))
    }

    func testErrorsAreClear() throws {
        let long = "a photo of a very small red and white striped cat sitting on a big old wooden chair"
        let cases: [([String], String)] = [
            (["detect", "--model", model, dining], "no queries"),
            (["detect", "--model", model, dining, "--query-image", fixture("owlvit-tiny/config.json")], "config.json"),
            (["detect", "--model", model, dining, "--query", "cat", "--threshold", "1.5"], "--threshold must be in [0, 1]"),
            (["detect", "--model", model, dining, "--query", "cat", "--threshold", "-0.1"], "--threshold"),
            (["detect", "--model", model, dining, "--query", long], "context of 16"),
            (["detect", "--model", model, dining, dining, "--query", "cat", "--draw", "/tmp/x.png"], "--draw-dir"),
            (["detect", "--model", model, dining, "--query", "cat", "--query-image", dining], "not both"),
            (["eval-detection", "--ground-truth", fixture("detection/voc_dining.json"), "--detections", fixture("owlvit-tiny/config.json")], "line 1"),
        ]
        for (arguments, fragment) in cases {
            let result = try cli.run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments) should fail")
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): stderr should mention \(fragment): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "nothing on stdout for \(arguments)")
        }
        let truncated = try cli.run(["detect", "--model", model, dining, "--query", long, "--truncate"])
        XCTAssertEqual(truncated.status, 0, truncated.stderr)
    }
}
