import Foundation
import XCTest

/// Options and commands a careless or hostile user may give: every one is a usage error
/// (exit 2) naming the option and the bound, found before any model loads, or a failure
/// (exit 1) in plain words. A missing model folder stands in for the model where the check
/// must come first: old code reached it and said "model folder not found" instead.
final class HostileOptionsTests: XCTestCase {
    let absent = "/nonexistent/glimpse-model"
    var clip: String { CLITests.fixtures.appendingPathComponent("clip-tiny").path }
    var owl: String { CLITests.fixtures.appendingPathComponent("owlvit-tiny").path }
    var captioner: String { CLITests.fixtures.appendingPathComponent("blip-caption-tiny").path }
    func image(_ name: String) -> String { CLITests.fixtures.appendingPathComponent("images/\(name)").path }

    func run(_ arguments: [String], environment: [String: String]? = nil) throws -> CLITests.Result {
        try CLITests.execute(arguments, environment: environment)
    }

    func assertUsageError(_ arguments: [String], _ fragments: String..., environment: [String: String]? = nil,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(arguments, environment: environment)
        XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): stderr should mention \(fragment): \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(result.stdout, "", "\(arguments)", file: file, line: line)
    }

    func testUsageErrorsExitTwoAndFailuresOne() throws {
        try assertUsageError(["classify", "--model", clip, "--labels", "cat"], "no images")
        try assertUsageError(["classify", "--model", clip, image("chelsea.png"), "--labels", "cat", "--bogus"], "--bogus")
        try assertUsageError(["classify", image("chelsea.png"), "--labels", "cat"], "--model")
        try assertUsageError(["detect", "--model", owl, image("chelsea.png"), "--query", "cat", "--threshold"], "--threshold")
        try assertUsageError(["caption", "--model", captioner, image("chelsea.png"), "--beams", "many"], "many")
        try assertUsageError(["classify", "--model", "", image("chelsea.png"), "--labels", "cat"], "--model is empty")
        // A failure: plain words, exit 1.
        let missing = try run(["classify", "--model", absent, image("chelsea.png"), "--labels", "cat"])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("glimpse: error: "), missing.stderr)
        XCTAssertTrue(missing.stderr.contains(absent), missing.stderr)
        // Help is not an error.
        let help = try run(["detect", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE"), help.stdout)
    }

    func testUnknownCommandIsNamed() throws {
        try assertUsageError(["frobnicate", "--model", "x"], "'frobnicate' is not a glimpse command", "classify", "detect", "caption")
        try assertUsageError(["frobnicate"], "not a glimpse command")
        let known = try run(["help", "detect"])
        XCTAssertEqual(known.status, 0, known.stderr)
    }

    func testNumericBoundsOnEveryOption() throws {
        let img = image("chelsea.png")
        let cases: [([String], String)] = [
            (["caption", "--model", absent, img, "--beams", "1000000"], "--beams must be at most 64"),
            (["caption", "--model", absent, img, "--beams", "0"], "--beams must be at least 1"),
            (["caption", "--model", absent, img, "--beams", "-3"], "--beams must be at least 1, got -3"),
            (["caption", "--model", absent, img, "--max-new-tokens", "100000000"], "--max-new-tokens must be at most 4096"),
            (["caption", "--model", absent, img, "--max-length", "100000000"], "--max-length must be at most 4096"),
            (["caption", "--model", absent, img, "--min-length", "-1"], "--min-length must be at least 0"),
            (["caption", "--model", absent, img, "--no-repeat-ngram-size", "-2"], "--no-repeat-ngram-size must be at least 0"),
            (["caption", "--model", absent, img, "--num-captions", "100000"], "--num-captions must be at most 64"),
            (["caption", "--model", absent, img, "--repetition-penalty", "-1"], "--repetition-penalty must be a positive number"),
            (["caption", "--model", absent, img, "--length-penalty", "inf"], "--length-penalty must be a finite number"),
            (["caption", "--model", absent, img, "--sample", "--temperature", "0"], "--temperature must be a positive number"),
            (["caption", "--model", absent, img, "--sample", "--temperature", "nan"], "--temperature must be a positive number"),
            (["caption", "--model", absent, img, "--sample", "--top-p", "-0.5"], "--top-p must be in (0, 1]"),
            (["caption", "--model", absent, img, "--sample", "--top-k", "-1"], "--top-k must be at least 0"),
            (["detect", "--model", absent, img, "--query", "cat", "--threshold", "-1"], "--threshold must be in [0, 1], got -1"),
            (["detect", "--model", absent, img, "--query", "cat", "--threshold", "nan"], "--threshold must be in [0, 1]"),
            (["detect", "--model", absent, img, "--query-image", img, "--nms", "-0.5"], "--nms must be in [0, 1]"),
            (["detect", "--model", absent, img, "--query-image", img, "--nms", "2"], "--nms must be in [0, 1]"),
            (["classify", "--model", absent, img, "--labels", "cat", "--top", "0"], "--top must be at least 1"),
            (["classify", "--model", absent, img, "--labels", "cat", "--top", "-5"], "--top must be at least 1"),
            (["classify", "--model", absent, img, "--labels", "cat", "--batch-size", "0"], "--batch-size must be at least 1"),
            (["classify", "--model", absent, img, "--labels", "cat", "--batch-size", "100000000"], "--batch-size must be at most 4096"),
            (["classify", "--model", absent, img, "--labels", "cat", "--threads", "0"], "--threads must be at least 1"),
            (["classify", "--model", absent, img, "--labels", "cat", "--threads", "-2"], "--threads must be at least 1"),
            (["classify", "--model", absent, img, "--labels", "cat", "--threads", "1000000000"], "--threads must be at most 256"),
            (["bench", "--model", absent, "--batch", "100000000"], "--batch must be at most 4096"),
            (["bench", "--model", absent, "--batch", "1", "0"], "--batch must be at least 1"),
            (["bench", "--model", absent, "--batch", "1", "-5"], "--batch must be at least 1, got -5"),
            (["bench", "--model", absent, "--batch", "-1"], "--batch must be at least 1, got -1"),
            (["bench-detect", "--model", absent, "--image", img, "--queries", "-1"], "--queries must be at least 1, got -1"),
            (["bench", "--model", absent, "--repeats", "0"], "--repeats must be at least 1"),
            (["bench", "--model", absent, "--repeats", "1000000000"], "--repeats must be at most 100000"),
            (["bench-detect", "--model", absent, "--image", img, "--queries", "100000000"], "--queries must be at most 4096"),
            (["bench-detect", "--model", absent, "--image", img, "--repeats", "-1"], "--repeats must be at least 1"),
        ]
        for (arguments, fragment) in cases { try assertUsageError(arguments, fragment) }
    }

    func testTooManyQueries() throws {
        let queries = (0 ... 4096).map { "thing \($0)" }
        try assertUsageError(["detect", "--model", absent, image("chelsea.png"), "--query"] + queries, "the number of queries must be at most 4096")
    }

    /// The checkpoint's generation_config.json is held to the same bounds, and named.
    func testGenerationConfigValuesAreBounded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-generation-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: captioner, toPath: dir.path)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("generation_config.json")
        let cases: [(String, String)] = [
            (#"{"num_beams": 1000000}"#, "'num_beams' must be from 1 to 64, found 1000000"),
            (#"{"max_new_tokens": 1000000000}"#, "'max_new_tokens' must be from 1 to 4096"),
            (#"{"max_length": -4}"#, "'max_length' must be from 1 to 4096"),
            (#"{"num_return_sequences": 100000}"#, "'num_return_sequences' must be from 1 to 64"),
            (#"{"do_sample": true, "temperature": -1}"#, "'temperature' must be a positive number"),
            (#"{"do_sample": true, "top_p": 7}"#, "'top_p' must be in (0, 1]"),
        ]
        for (text, fragment) in cases {
            try text.write(to: config, atomically: true, encoding: .utf8)
            let result = try run(["caption", "--model", dir.path, image("chelsea.png")])
            XCTAssertEqual(result.status, 1, "\(text): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("generation_config.json") && result.stderr.contains(fragment), "\(text): \(result.stderr)")
        }
    }

    func testContradictoryOptions() throws {
        let img = image("chelsea.png")
        try assertUsageError(["bench", "--model", absent, "--images-only", "--texts-only"], "--images-only and --texts-only")
        try assertUsageError(["bench", "--model", absent, "--texts-only", "--profile", img], "--profile", "--texts-only")
        try assertUsageError(["detect", "--model", absent, img, "--query-image", img, "--truncate"], "--truncate")
        try assertUsageError(["caption", "--model", absent, img, "--seed", "3"], "--seed", "--sample")
        try assertUsageError(["caption", "--model", absent, img, "--sample", "--beams", "3"], "--sample", "--beams 3")
        try assertUsageError(["detect", "--model", absent, img, "--query", "cat", "--draw", "a.png", "--draw-dir", "d"], "not both")
    }

    /// A list option takes values up to the next option, so images written after it become
    /// its values; the error says so and how to write it.
    func testListOptionSwallowingImagesIsExplained() throws {
        let query = image("lion.jpg"), photo = image("chelsea.png")
        try assertUsageError(["detect", "--model", absent, "--query-image", query, photo], "--query-image takes every value", photo, "--")
        try assertUsageError(["detect", "--model", absent, "--query", "a cat", photo], "--query takes every value", photo)
        try assertUsageError(["classify", "--model", absent, "--labels", "cat", "dog", photo], "--labels takes every value", photo)
        try assertUsageError(["match", "--model", absent, "--text", "a cat", photo], "--text takes every value", photo)
        // Some images before, one swallowed after: that value is an image file, not a label.
        try assertUsageError(["classify", "--model", absent, photo, "--labels", "cat", query], query, "image file")
        // Plainly no images: the plain message.
        try assertUsageError(["classify", "--model", absent, "--labels", "cat", "dog"], "no images to classify")
        // Written as the message says, with --, it runs.
        let fixed = try run(["classify", "--model", clip, "--labels", "cat", "dog", "--", photo])
        XCTAssertEqual(fixed.status, 0, fixed.stderr)
        XCTAssertEqual(fixed.lines.first?["image"] as? String, photo)
        let detected = try run(["detect", "--model", owl, "--query-image", query, "--", photo])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        XCTAssertEqual(detected.lines.first?["image"] as? String, photo)
    }

    /// Labels, queries and texts on the command line: blank ones and control characters are
    /// usage errors naming the value (a NUL cannot reach argv; an escape sequence can).
    func testLabelsAndTextsOnTheCommandLine() throws {
        let img = image("chelsea.png")
        try assertUsageError(["classify", "--model", absent, img, "--labels", "cat", ""], "label 2 is empty")
        try assertUsageError(["classify", "--model", absent, img, "--labels", "cat", "   "], "label 2 is empty")
        try assertUsageError(["classify", "--model", absent, img, "--labels", "c\u{1B}[31mat"], "--labels", "U+001B")
        try assertUsageError(["classify", "--model", absent, img, "--labels", "cat", "d\to\ng"], "label 2", "U+0009")
        try assertUsageError(["classify", "--model", absent, img, "--labels", "cat", "--template", "a {}\u{7}"], "--template", "U+0007")
        try assertUsageError(["classify", "--model", absent, img, "--labels", "cat", "--template", "no slot"], "has no {}")
        try assertUsageError(["detect", "--model", absent, img, "--query", "a\u{1}b"], "--query", "U+0001")
        try assertUsageError(["match", "--model", absent, img, "--text", "a cat", "x\u{1B}y"], "text 2", "U+001B")
        try assertUsageError(["embed", "--model", absent, "--text", "x\u{1B}y"], "--text", "U+001B")
        try assertUsageError(["caption", "--model", absent, img, "--prompt", "a\u{1B}b"], "--prompt", "U+001B")
        // Multi-line texts are fine where texts are free (embed keeps its null prompt "").
        let embedded = try run(["embed", "--model", clip, "--text", "two\nlines", "", "--quiet"])
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        XCTAssertEqual(embedded.lines.count, 2)
    }

    /// A path where a folder is wanted: plain words naming it, no Foundation error dump.
    func testDrawDirOnAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-draw-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try run(["detect", "--model", owl, image("chelsea.png"), "--query", "cat", "--draw-dir", file.path])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("\(file.path): exists and is not a directory"), result.stderr)
        XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain") || result.stderr.contains("Code="), result.stderr)
        XCTAssertEqual(result.stdout, "")
        // A file inside a file: the folder cannot be made.
        let nested = try run(["detect", "--model", owl, image("chelsea.png"), "--query", "cat", "--draw-dir", file.path + "/sub"])
        XCTAssertEqual(nested.status, 1, nested.stderr)
        XCTAssertTrue(nested.stderr.hasPrefix("glimpse: error: ") && nested.stderr.contains("\(file.path) is not a directory"), nested.stderr)
        XCTAssertFalse(nested.stderr.contains("NSCocoaErrorDomain") || nested.stderr.contains("Code="), nested.stderr)
        // --draw into a folder that does not exist, or onto a folder: said before any work.
        let missing = try run(["detect", "--model", owl, image("chelsea.png"), "--query", "cat", "--draw", "/nonexistent/folder/out.png"])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/folder is not an existing folder"), missing.stderr)
        XCTAssertEqual(missing.stdout, "")
        let onFolder = try run(["detect", "--model", owl, image("chelsea.png"), "--query", "cat", "--draw", NSTemporaryDirectory()])
        XCTAssertEqual(onFolder.status, 1, onFolder.stderr)
        XCTAssertTrue(onFolder.stderr.contains("is a directory"), onFolder.stderr)
    }
}
