import Foundation
import XCTest

/// `caption`, `match` and BERT `embed` end to end: files and strings in, reference numbers
/// (Tools/fixtures/make_blip_fixtures.py, make_minilm_fixtures.py) out.
extension CLITests {
    var captionModel: String { Self.fixtures.appendingPathComponent("blip-caption-tiny").path }
    var itmModel: String { Self.fixtures.appendingPathComponent("blip-itm-tiny").path }

    func expectedIds(_ setting: String, _ ref: [String: Any]) throws -> [[Int]] {
        let entry = try XCTUnwrap((ref["generate"] as? [String: Any])?[setting] as? [String: Any])
        return try XCTUnwrap(entry["ids"] as? [[[Int]]]).map { $0[0] }
    }

    func testCaptionGreedyBeamAndPromptMatchReference() throws {
        let ref = try fixtureJSON("blip/blip-caption-tiny.json")
        let images = try XCTUnwrap(ref["images"] as? [String]).map(image)
        for (setting, extra) in [("greedy", []), ("beam3", ["--beams", "3"]),
                                 ("greedy_prompt", ["--prompt", "a picture of"])] {
            let result = try run(["caption", "--model", captionModel] + images + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = result.lines
            XCTAssertEqual(lines.map { $0["image"] as? String }, images)
            let captions = lines.compactMap { ($0["captions"] as? [[String: Any]])?.first }
            XCTAssertEqual(captions.compactMap { $0["ids"] as? [Int] }, try expectedIds(setting, ref), setting)
            for caption in captions {
                XCTAssertNotNil(caption["score"] as? Double)
                let text = try XCTUnwrap(caption["text"] as? String)
                if setting == "greedy_prompt" { XCTAssertTrue(text.hasPrefix("a picture of"), text) }
            }
        }
    }

    func testCaptionSamplingIsSeededAndReturnsSeveral() throws {
        let args = ["caption", "--model", captionModel, image("chelsea.png"), "--sample", "--top-p", "0.9",
                    "--top-k", "20", "--num-captions", "3", "--seed", "7", "--max-new-tokens", "8"]
        let first = try run(args), second = try run(args)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, second.stdout)
        let captions = try XCTUnwrap(first.lines.first?["captions"] as? [[String: Any]])
        XCTAssertEqual(captions.count, 3)
        for caption in captions {
            let ids = try XCTUnwrap(caption["ids"] as? [Int])
            XCTAssertEqual(ids.first, 30522)
            XCTAssertLessThanOrEqual(ids.count, 9)
        }
    }

    func testMatchMatchesReference() throws {
        let ref = try fixtureJSON("blip/blip-itm-tiny.json")
        let images = try XCTUnwrap(ref["images"] as? [String]).map(image)
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let logits = try XCTUnwrap(ref["itm_logits"] as? [[Double]])
        let itc = try XCTUnwrap(ref["itc"] as? [Double])
        let result = try run(["match", "--model", itmModel] + images + ["--text"] + texts)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.lines
        XCTAssertEqual(lines.count, images.count * texts.count)
        for (pair, line) in lines.enumerated() {
            XCTAssertEqual(line["image"] as? String, images[pair / texts.count])
            XCTAssertEqual(line["text"] as? String, texts[pair % texts.count])
            let probability = 1 / (1 + exp(logits[pair][0] - logits[pair][1]))
            XCTAssertEqual(try XCTUnwrap(line["itm"] as? Double), probability, accuracy: 1e-4)
            XCTAssertEqual(try XCTUnwrap(line["itc"] as? Double), itc[pair], accuracy: 1e-4)
        }
        let only = try run(["match", "--model", itmModel, images[0], "--text", texts[0], "--mode", "itc"])
        XCTAssertEqual(only.status, 0, only.stderr)
        XCTAssertNil(only.lines.first?["itm"])
        XCTAssertNotNil(only.lines.first?["itc"])
    }

    func testEmbedBERTSentenceModel() throws {
        let folder = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/assets/models/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: folder + "/model.safetensors") else {
            throw XCTSkip("real MiniLM weights not found at \(folder)")
        }
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("bert/minilm.json"))
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let expected = try XCTUnwrap(ref["embeddings"] as? [Double])
        let result = try run(["embed", "--model", folder, "--text"] + texts)
        XCTAssertEqual(result.status, 0, result.stderr)
        let embeddings = result.lines.compactMap { $0["embedding"] as? [Double] }
        XCTAssertEqual(embeddings.count, texts.count)
        let worst = zip(embeddings.flatMap { $0 }, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, 1e-4)
        let images = try run(["embed", "--model", folder, "--image", image("chelsea.png")])
        XCTAssertNotEqual(images.status, 0)
        XCTAssertTrue(images.stderr.contains("cannot embed images"), images.stderr)
    }

    /// A checkpoint's generation_config.json sets the defaults, as for transformers' generate():
    /// captioning without flags equals passing the same settings as flags; flags still win.
    func testCaptionUsesGenerationConfig() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("blip-gen-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: captionModel, toPath: folder.path)
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"{"num_beams": 3, "max_length": 9, "num_return_sequences": 2, "no_repeat_ngram_size": 2}"#
            .write(to: folder.appendingPathComponent("generation_config.json"), atomically: true, encoding: .utf8)
        let fromFile = try glimpse("caption", "--model", folder.path, image("chelsea.png"))
        let fromFlags = try glimpse("caption", "--model", captionModel, image("chelsea.png"), "--beams", "3",
                                    "--max-length", "9", "--num-captions", "2", "--no-repeat-ngram-size", "2")
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(fromFlags.status, 0, fromFlags.stderr)
        XCTAssertEqual(fromFile.stdout, fromFlags.stdout)
        XCTAssertEqual((fromFile.lines.first?["captions"] as? [Any])?.count, 2)
        let greedy = try glimpse("caption", "--model", folder.path, image("chelsea.png"), "--beams", "1", "--num-captions", "1")
        let greedyFlags = try glimpse("caption", "--model", captionModel, image("chelsea.png"), "--max-length", "9",
                                      "--no-repeat-ngram-size", "2")
        XCTAssertEqual(greedy.stdout, greedyFlags.stdout, "flags override the file")
        try #"{"num_beams": "three"}"#.write(to: folder.appendingPathComponent("generation_config.json"), atomically: true, encoding: .utf8)
        let bad = try glimpse("caption", "--model", folder.path, image("chelsea.png"))
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("generation_config.json") && bad.stderr.contains("num_beams"), bad.stderr)
    }

    func testCaptionAndMatchErrors() throws {
        let cases: [([String], String)] = [
            (["caption", "--model", model, image("chelsea.png")], "not a BLIP checkpoint"),
            (["caption", "--model", itmModel, image("chelsea.png")], "not a captioning model"),
            (["caption", "--model", captionModel, image("chelsea.png"), "--beams", "0"], "beams must be at least 1"),
            (["caption", "--model", captionModel, image("chelsea.png"), "--max-length", "5", "--min-length", "8"],
             "max length 5 is smaller than min length 8"),
            (["caption", "--model", captionModel, image("chelsea.png"), "--sample", "--top-p", "0"], "top-p must be in (0, 1]"),
            (["caption", "--model", captionModel, image("chelsea.png"), "--sample", "--top-p", "1.5"], "top-p must be in (0, 1]"),
            (["caption", "--model", captionModel, image("chelsea.png"), "--prompt", " "], "prompt is empty"),
            (["match", "--model", itmModel, image("chelsea.png"), "--text", "a cat", ""], "text 2 is empty"),
        ]
        for (arguments, message) in cases {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        // A folder without vocab.txt names what is missing.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("blip-no-vocab-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["config.json", "model.safetensors", "preprocessor_config.json"] {
            try FileManager.default.copyItem(atPath: captionModel + "/" + name, toPath: folder.appendingPathComponent(name).path)
        }
        let result = try run(["caption", "--model", folder.path, image("chelsea.png")])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("vocab.txt"), result.stderr)
    }
}
