import Foundation
import XCTest

/// `eval-detection` on broken or hostile files: every bad record is an error naming the file
/// and the record or line (exit 1), never scored as if it were right.
final class HostileEvalDetectionTests: XCTestCase {
    var groundTruth: String { CLITests.fixtures.appendingPathComponent("detection/voc_dining.json").path }
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func assertFailure(_ truth: String, _ detections: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLITests.execute(["eval-detection", "--ground-truth", truth, "--detections", detections])
        XCTAssertEqual(result.status, 1, "\(fragments): \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("glimpse: error: "), result.stderr, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "stderr should mention \(fragment): \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(result.stdout, "", file: file, line: line)
    }

    func detectionLine(_ detection: String, image: String = "voc_dining.jpg") -> String {
        #"{"image": "\#(image)", "detections": [\#(detection)]}"# + "\n"
    }

    func testBadDetectionsAreErrorsNamingFileAndLine() throws {
        let good = #"{"label": "chair", "score": 0.9, "box": [2, 104, 89, 211]}"#
        let cases: [(String, [String])] = [
            (#"{"label": "chair", "score": 0.9, "box": [89, 104, 2, 211]}"#, ["inverted"]),
            (#"{"label": "chair", "score": 0.9, "box": [2, 211, 89, 104]}"#, ["inverted"]),
            (#"{"label": "chair", "score": 0.9, "box": [2, 104, 1e39, 211]}"#, ["not a finite number"]),
            (#"{"label": "chair", "score": 1.5, "box": [2, 104, 89, 211]}"#, ["\"score\" 1.5 is outside [0, 1]"]),
            (#"{"label": "chair", "score": -0.1, "box": [2, 104, 89, 211]}"#, ["outside [0, 1]"]),
            (#"{"label": "chair", "score": null, "box": [2, 104, 89, 211]}"#, ["\"score\" must be a number"]),
            (#"{"label": "chair", "score": true, "box": [2, 104, 89, 211]}"#, ["\"score\" must be a number"]),
            (#"{"label": "chair", "score": 0.5, "box": [2, 104, 89]}"#, ["[x1, y1, x2, y2]"]),
            (#"{"label": "chair", "score": 0.5, "box": [2, 104, 89, "211"]}"#, ["four numbers"]),
            (#"{"label": "", "score": 0.5, "box": [2, 104, 89, 211]}"#, ["\"label\" is empty"]),
        ]
        for (detection, fragments) in cases {
            let path = try write("d.jsonl", detectionLine(good, image: "other.jpg") + detectionLine("\(good), \(detection)"))
            try assertFailure(groundTruth, path, [path, "line 2 detection 2"] + fragments)
        }
        let twice = try write("twice.jsonl", detectionLine(good) + detectionLine(good, image: "elsewhere/voc_dining.jpg"))
        try assertFailure(groundTruth, twice, [twice, "line 2", "already listed on line 1"])
        try assertFailure(groundTruth, try write("empty.jsonl", "\n\n"), ["holds no detection records"])
        let utf16 = dir.appendingPathComponent("utf16.jsonl")
        try Data([0xFF, 0xFE] + Array(detectionLine(good).utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }).write(to: utf16)
        try assertFailure(groundTruth, utf16.path, [utf16.path, "UTF-16"])
        try assertFailure(groundTruth, dir.path, [dir.path, "directory"])
        try assertFailure(groundTruth, try write("unrelated.jsonl", detectionLine(good, image: "cat.jpg")), ["names none of the ground truth's images"])
    }

    func testBadGroundTruthIsAnErrorNamingFileAndRecord() throws {
        let detections = try write("d.jsonl", detectionLine(#"{"label": "chair", "score": 0.9, "box": [2, 104, 89, 211]}"#))
        func record(_ objects: String, extra: String = "") -> String {
            #"{"image": "voc_dining.jpg"\#(extra), "objects": [\#(objects)]}"#
        }
        let good = #"{"label": "chair", "box_xyxy": [2, 104, 89, 211]}"#
        let cases: [(String, [String])] = [
            ("[\(record(good)), \(record(#"{"label": "chair", "box_xyxy": [89, 104, 2, 211]}"#).replacingOccurrences(of: "voc_dining", with: "b"))]",
             ["record 2 object 1", "inverted"]),
            (record(#"{"label": "chair", "box_xyxy": [2, 104, 89, 1e39]}"#), ["record 1 object 1", "not a finite number"]),
            (record(#"{"label": "", "box_xyxy": [2, 104, 89, 211]}"#), ["record 1 object 1", "\"label\" is empty"]),
            (record(#"{"label": "chair", "box_xyxy": [2, 104, 89, true]}"#), ["four numbers"]),
            (record(good, extra: #", "width": -500"#), ["record 1", "\"width\" must be a whole number of pixels above 0"]),
            (record(good, extra: #", "height": 0"#), ["\"height\" must be a whole number"]),
            (#"{"image": "", "objects": []}"#, ["record 1", "\"image\" is empty"]),
            ("[]", ["holds an empty list"]),
            ("", ["is empty"]),
            ("  \n", ["is empty"]),
            ("[\(record(""))]", ["holds no objects: nothing to score"]),
            ("[\(record(good)), \(record(good))]", ["record 2", "image voc_dining.jpg is also in"]),
            ("\u{0}", ["NUL"]),
        ]
        for (text, fragments) in cases {
            let path = try write("gt.json", text)
            try assertFailure(path, detections, [path] + fragments)
        }
        try assertFailure(dir.path, detections, [dir.path, "directory"])
    }
}
