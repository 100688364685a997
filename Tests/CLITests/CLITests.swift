import Foundation
import XCTest

/// Runs the built `glimpse` executable as a user would and checks its output and exit codes.
/// Expected numbers come from the transformers reference fixtures, not from Glimpse itself.
final class CLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    let model = fixtures.appendingPathComponent("clip-tiny").path
    func image(_ name: String) -> String { Self.fixtures.appendingPathComponent("images/\(name)").path }
    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func fixtureJSON(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent(name))) as? [String: Any])
    }

    struct Result { let status: Int32; let stdout: String; let stderr: String
        var lines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    func glimpse(_ arguments: String...) throws -> Result { try run(arguments) }

    func run(_ arguments: [String]) throws -> Result { try Self.execute(arguments) }

    /// Runs the built binary; `environment` replaces the inherited one when given.
    static func execute(_ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = Bundle.main.bundleURL.appendingPathComponent("glimpse")
        #if os(macOS)
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            process.executableURL = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("glimpse")
        }
        #endif
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("clip/clip-tiny.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// classify with the fixture's texts as labels and the identity template reproduces the
    /// reference logits_per_image end to end: decoding, preprocessing, tokenisation, model.
    func testClassifyMatchesReferenceLogits() throws {
        let ref = try reference()
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let images = try XCTUnwrap(ref["images"] as? [String]).map(image)
        let expected = try XCTUnwrap(ref["logits_per_image"] as? [Double])
        let result = try run(["classify", "--model", model] + images + ["--labels"] + texts + ["--template", "{}"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.lines
        XCTAssertEqual(lines.count, images.count)
        for (i, line) in lines.enumerated() {
            XCTAssertEqual(line["image"] as? String, images[i])
            let labels = try XCTUnwrap(line["labels"] as? [[String: Any]])
            XCTAssertEqual(labels.count, texts.count)
            let probabilities = labels.compactMap { ($0["probability"] as? NSNumber)?.doubleValue }
            XCTAssertEqual(probabilities, probabilities.sorted(by: >), "sorted by probability")
            XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-5)
            for entry in labels {
                let label = try XCTUnwrap(entry["label"] as? String)
                let j = try XCTUnwrap(texts.firstIndex(of: label))
                let logit = try XCTUnwrap((entry["logit"] as? NSNumber)?.doubleValue)
                XCTAssertEqual(logit, expected[i * texts.count + j], accuracy: 1e-4, "\(images[i]) / \(label)")
            }
        }
    }

    func testEmbedRawAndNormalisedMatchReference() throws {
        let ref = try reference()
        let features = try XCTUnwrap(ref["image_features"] as? [Double])
        let textEmbeds = try XCTUnwrap(ref["text_embeds"] as? [Double])
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let raw = try glimpse("embed", "--model", model, "--image", image("chelsea.png"), "--raw")
        XCTAssertEqual(raw.status, 0, raw.stderr)
        let rawEmbedding = try XCTUnwrap(raw.lines.first?["embedding"] as? [Double])
        XCTAssertEqual(rawEmbedding.count, 12)
        for (a, b) in zip(rawEmbedding, features.prefix(12)) { XCTAssertEqual(a, b, accuracy: 1e-4) }

        let normal = try glimpse("embed", "--model", model, "--text", texts[1])
        let embedding = try XCTUnwrap(normal.lines.first?["embedding"] as? [Double])
        XCTAssertEqual(normal.lines.first?["input"] as? String, texts[1])
        XCTAssertEqual(embedding.map { $0 * $0 }.reduce(0, +), 1, accuracy: 1e-5)
        for (a, b) in zip(embedding, textEmbeds[12 ..< 24]) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    func testTokenizeGivesReferenceIds() throws {
        let ref = try reference()
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let ids = try XCTUnwrap(ref["ids"] as? [[Int]])
        let result = try run(["tokenize", "--model", model] + texts)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.lines.map { $0["ids"] as? [Int] ?? [] }, ids)
        XCTAssertEqual(result.lines.map { $0["text"] as? String ?? "" }, texts)
    }

    func testTableFormatAndLabelsFileWithTemplates() throws {
        let labels = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).txt")
        try "cat\n\n dog \nwoman\n".write(to: labels, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: labels) }
        let table = try glimpse("classify", "--model", model, image("chelsea.png"), "--labels-file", labels.path,
                                "--template", "a photo of a {}.", "--template", "a drawing of a {}.", "--format", "table")
        XCTAssertEqual(table.status, 0, table.stderr)
        let rows = table.stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, 2 + 3, table.stdout)
        XCTAssertTrue(rows[0].hasPrefix("image") && rows[0].contains("probability"))
        XCTAssertEqual(Set(rows.dropFirst(2).compactMap { $0.split(separator: " ").dropFirst($0.hasPrefix("/") ? 1 : 0).first.map(String.init) }),
                       ["cat", "dog", "woman"])
    }

    func testProgressOnStderrUnlessQuiet() throws {
        let texts = (0..<20).map { "text number \($0)" }
        let loud = try run(["embed", "--model", model, "--batch-size", "4", "--text"] + texts)
        XCTAssertEqual(loud.status, 0, loud.stderr)
        XCTAssertEqual(loud.lines.count, 20)
        XCTAssertTrue(loud.stderr.contains("20/20"), loud.stderr)
        let quiet = try run(["embed", "--model", model, "--quiet", "--text"] + texts)
        XCTAssertEqual(quiet.stderr, "")
    }

    func testErrorsAreClearAndNonZero() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        let fm = FileManager.default
        // A config without a vision section.
        let noVision = temp.appendingPathComponent("no-vision")
        try fm.copyItem(atPath: model, toPath: noVision.path)
        try #"{"model_type": "clip", "text_config": {}}"#.write(to: noVision.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        // A truncated weights file.
        let truncated = temp.appendingPathComponent("truncated")
        try fm.copyItem(atPath: model, toPath: truncated.path)
        let weights = truncated.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count / 2).write(to: weights)
        let emptyLabels = temp.appendingPathComponent("empty.txt")
        try "\n\n".write(to: emptyLabels, atomically: true, encoding: .utf8)
        let long = String(repeating: "word ", count: 100)

        let cases: [([String], String)] = [
            (["classify", "--model", temp.appendingPathComponent("absent").path, image("chelsea.png"), "--labels", "a"], "model folder not found"),
            (["classify", "--model", noVision.path, image("chelsea.png"), "--labels", "a"], "vision_config"),
            (["classify", "--model", truncated.path, image("chelsea.png"), "--labels", "a"], "truncated"),
            (["classify", "--model", model, Self.fixtures.appendingPathComponent("clip-tiny/config.json").path, "--labels", "a"], "config.json"),
            (["classify", "--model", model, image("chelsea.png")], "no labels"),
            (["classify", "--model", model, image("chelsea.png"), "--labels-file", emptyLabels.path], "empty"),
            (["classify", "--model", model, image("chelsea.png"), "--labels", "a", "--template", "no slot"], "{}"),
            (["embed", "--model", model, "--text", long], "longer than the context"),
            (["embed", "--model", model], "nothing to embed"),
            (["tokenize", "--model", model, long], "77"),
        ]
        for (arguments, fragment) in cases {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments) should fail")
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): stderr should mention \(fragment): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "nothing on stdout for \(arguments)")
        }
        let truncatedText = try glimpse("embed", "--model", model, "--text", long, "--truncate")
        XCTAssertEqual(truncatedText.status, 0, truncatedText.stderr)
    }
}
