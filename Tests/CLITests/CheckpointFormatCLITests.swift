import Foundation
import XCTest

/// Every command takes open_clip folders and pytorch_model.bin folders as it takes Hugging Face ones.
extension CLITests {
    func testOpenCLIPFolderThroughEveryCommand() throws {
        let ref = try fixtureJSON("openclip/openclip-vit-tiny.json")
        let model = fixture("openclip-vit-tiny")
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let ids = try XCTUnwrap(ref["ids"] as? [[Int]])

        let tokenized = try run(["tokenize", "--model", model] + texts)
        XCTAssertEqual(tokenized.status, 0, tokenized.stderr)
        XCTAssertEqual(tokenized.lines.map { $0["ids"] as? [Int] ?? [] }, ids)

        let embedded = try run(["embed", "--model", model, "--raw", "--text", texts[0]])
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let features = try XCTUnwrap(embedded.lines.first?["embedding"] as? [Double])
        let expected = try XCTUnwrap(ref["text_features"] as? [Double]).prefix(features.count)
        for (a, b) in zip(features, expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }

        let images = try XCTUnwrap(ref["images"] as? [String]).map { Self.fixtures.appendingPathComponent("images/\($0)").path }
        let classified = try run(["classify", "--model", model, images[0], "--labels"] + texts + ["--template", "{}"])
        XCTAssertEqual(classified.status, 0, classified.stderr)
        let logits = try XCTUnwrap(ref["logits_per_image"] as? [Double])
        let labels = try XCTUnwrap(classified.lines.first?["labels"] as? [[String: Any]])
        for entry in labels {
            let j = try XCTUnwrap(texts.firstIndex(of: try XCTUnwrap(entry["label"] as? String)))
            XCTAssertEqual(try XCTUnwrap((entry["logit"] as? NSNumber)?.doubleValue), logits[j], accuracy: 1e-4)
        }
    }

    func testBinFolderAndHostileFileErrors() throws {
        let ok = try run(["embed", "--model", fixture("clip-tiny-variant-bin"), "--raw", "--quiet",
                              "--image", Self.fixtures.appendingPathComponent("images/chelsea.png").path])
        // No preprocessor in that folder: a clear error naming the file, after the weights loaded.
        XCTAssertNotEqual(ok.status, 0)
        XCTAssertTrue(ok.stderr.contains("preprocessor_config.json"), ok.stderr)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: fixture("clip-tiny-variant/config.json"), toPath: dir.appendingPathComponent("config.json").path)
        try FileManager.default.copyItem(atPath: fixture("torch/hostile/os_system.pt"), toPath: dir.appendingPathComponent("pytorch_model.bin").path)
        let hostile = try run(["embed", "--model", dir.path, "--text", "x"])
        XCTAssertNotEqual(hostile.status, 0)
        XCTAssertTrue(hostile.stderr.contains("os.system") && hostile.stderr.contains("pytorch_model.bin"), hostile.stderr)
    }
}
