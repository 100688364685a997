import Foundation
import XCTest

/// Every command that takes `--model` takes a Hub id as well as a folder, resolved the same
/// way: each fixture is placed in a Hugging Face cache (network off) and each command's output
/// for `glimpse-test/NAME` must equal its output for the fixture folder.
extension HubCLITests {
    /// One run per command: the arguments after the model, and the fixture it needs.
    static let modelCommands: [(command: String, fixture: String, arguments: [String])] = [
        ("classify", "clip-tiny", ["IMAGE", "--labels", "a cat", "a dog"]),
        ("embed", "clip-tiny", ["--image", "IMAGE", "--text", "a cat"]),
        ("tokenize", "clip-tiny", ["a photo of a cat"]),
        ("caption", "blip-caption-tiny", ["IMAGE", "--max-new-tokens", "5"]),
        ("match", "blip-itm-tiny", ["IMAGE", "--text", "a cat", "a dog"]),
        ("detect", "owlvit-tiny", ["IMAGE", "--query", "a cat"]),
        ("bench", "clip-tiny", ["--batch", "1", "--repeats", "1"]),
        ("bench", "blip-caption-tiny", ["--repeats", "1"]),
        ("bench-detect", "owlvit-tiny", ["--image", "IMAGE", "--queries", "1", "--repeats", "1"]),
        ("inspect", "owlvit-tiny", []),
    ]

    /// Results that are times or name the model's location: compared by shape, not value.
    static func comparable(_ command: String, _ lines: [[String: Any]]) -> [String] {
        lines.map { line in
            var line = line
            if command.hasPrefix("bench") { line = line.filter { ["task", "batch", "queries"].contains($0.key) } }
            if command == "inspect" { line["model"] = nil; line["path"] = nil }
            let data = (try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    func testEveryModelCommandTakesAHubID() throws {
        for fixture in Set(Self.modelCommands.map(\.fixture)) where fixture != "clip-tiny" {
            try writePythonCache(root: cache, fixture: fixture)
        }
        for (command, fixture, arguments) in Self.modelCommands {
            let rest = arguments.map { $0 == "IMAGE" ? image("chelsea.png") : $0 }
            let folder = Self.fixtures.appendingPathComponent(fixture).path
            let fromHub = try glimpse([command, "--model", "glimpse-test/\(fixture)"] + rest, environment: ["HF_HUB_OFFLINE": "1"])
            let fromFolder = try glimpse([command, "--model", folder] + rest, environment: ["HF_HUB_OFFLINE": "1"])
            XCTAssertEqual(fromHub.status, 0, "\(command) --model glimpse-test/\(fixture): \(fromHub.stderr)")
            XCTAssertEqual(fromHub.stderr, "", "\(command): nothing downloaded, nothing to report")
            XCTAssertFalse(fromHub.lines.isEmpty, "\(command) printed nothing")
            XCTAssertEqual(Self.comparable(command, fromHub.lines), Self.comparable(command, fromFolder.lines),
                           "\(command): the Hub id gives the folder's model")
        }
    }

    /// A BERT sentence-embedding model (all-MiniLM-L6-v2, when the shared weights are present)
    /// through a Hub id, sentence_bert_config.json included.
    func testEmbedBERTTakesAHubID() throws {
        let source = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/assets/models/all-MiniLM-L6-v2")
        guard fm.fileExists(atPath: source.appendingPathComponent("model.safetensors").path) else {
            throw XCTSkip("real MiniLM weights not found at \(source.path)")
        }
        try writePythonCache(root: cache, fixture: "minilm", from: source)
        let arguments = ["--text", "a cat sits on the mat", "a dog"]
        let fromHub = try glimpse(["embed", "--model", "glimpse-test/minilm"] + arguments, environment: ["HF_HUB_OFFLINE": "1"])
        let fromFolder = try glimpse(["embed", "--model", source.path] + arguments, environment: ["HF_HUB_OFFLINE": "1"])
        XCTAssertEqual(fromHub.status, 0, fromHub.stderr)
        XCTAssertEqual(fromHub.lines.count, 2)
        XCTAssertEqual(fromHub.stdout, fromFolder.stdout)
    }
}
