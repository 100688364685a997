import Foundation
import XCTest

/// `glimpse train shapes` and `glimpse train clip` end to end: the files a run leaves, and the
/// usage errors for options that cannot fit a contrastive loss or a CLIP trainer.
final class TrainCLITests: XCTestCase {
    func run(_ arguments: String...) throws -> CLITests.Result { try CLITests.execute(arguments) }

    func scratch() -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-train-cli-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    func testShapesThenOneEpochLeavesAModelFolderMetricsAndCurve() throws {
        let folder = scratch()
        let shapes = try run("train", "shapes", "--out", folder + "/shapes", "--count", "16", "--seed", "2")
        XCTAssertEqual(shapes.status, 0, shapes.stderr)
        let model = CLITests.fixtures.appendingPathComponent("clip-shapes-tiny").path
        let result = try run("train", "clip", "--model", model, "--data", folder + "/shapes/manifest.jsonl", "--out", folder + "/run",
                             "--batch-size", "4", "--lr", "1e-3", "--warmup", "1")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("step 4/4"), result.stderr)
        for name in ["model.safetensors", "config.json", "preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz",
                     "training_state.safetensors", "metrics.jsonl", "loss.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/run/" + name), name)
        }
        let lines = try String(contentsOfFile: folder + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(first["step"] as? Int, 1)
        XCTAssertNotNil(first["loss"] as? Double)
        XCTAssertEqual(first["lr"] as? Double, 0)  // the first warm-up step
        // The saved folder is a model the other commands take.
        let embedded = try run("embed", "--model", folder + "/run", "--text", "a red circle")
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        // The same run with --random-crop trains on other pixels: the losses differ.
        let cropped = try run("train", "clip", "--model", model, "--data", folder + "/shapes/manifest.jsonl", "--out", folder + "/cropped",
                              "--batch-size", "4", "--lr", "1e-3", "--warmup", "1", "--random-crop")
        XCTAssertEqual(cropped.status, 0, cropped.stderr)
        let croppedLines = try String(contentsOfFile: folder + "/cropped/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(croppedLines.count, 4)
        XCTAssertNotEqual(croppedLines.map { $0.replacingOccurrences(of: #""images_per_second":[0-9.e+-]+"#, with: "", options: .regularExpression) },
                          lines.map { $0.replacingOccurrences(of: #""images_per_second":[0-9.e+-]+"#, with: "", options: .regularExpression) })
    }

    /// `train blip` on a captioner: the files a BLIP folder needs are carried over, each step
    /// line has an ETA, and the result captions; a retrieval model refuses single-pair batches.
    func testBLIPCaptionerTrainsAndTheResultCaptions() throws {
        let folder = scratch()
        _ = try run("train", "shapes", "--out", folder + "/shapes", "--count", "8", "--seed", "2")
        let data = folder + "/shapes/manifest.jsonl"
        let model = CLITests.fixtures.appendingPathComponent("blip-shapes-tiny").path
        let result = try run("train", "blip", "--model", model, "--data", data, "--out", folder + "/run",
                             "--batch-size", "4", "--lr", "1e-3", "--epochs", "2")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("step 4/4"), result.stderr)
        XCTAssertTrue(result.stderr.contains("ETA"), result.stderr)
        for name in ["model.safetensors", "config.json", "preprocessor_config.json", "vocab.txt", "tokenizer_config.json",
                     "generation_config.json", "training_state.safetensors", "metrics.jsonl", "loss.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/run/" + name), name)
        }
        let captioned = try run("caption", "--model", folder + "/run", folder + "/shapes/shape-000000.png")
        XCTAssertEqual(captioned.status, 0, captioned.stderr)
        XCTAssertTrue(captioned.stdout.contains("\"captions\""), captioned.stdout)
        let retrieval = try run("train", "blip", "--model", CLITests.fixtures.appendingPathComponent("blip-itm-tiny").path,
                                "--data", data, "--out", folder + "/itm", "--batch-size", "1")
        XCTAssertEqual(retrieval.status, 1)
        XCTAssertTrue(retrieval.stderr.contains("at least 2 pairs"), retrieval.stderr)
    }

    func testOptionsThatDoNotFitAreUsageOrModelErrors() throws {
        let folder = scratch()
        _ = try run("train", "shapes", "--out", folder + "/shapes", "--count", "4")
        let data = folder + "/shapes/manifest.jsonl"
        let one = try run("train", "clip", "--model", CLITests.fixtures.appendingPathComponent("clip-tiny").path, "--data", data,
                          "--out", folder + "/run", "--batch-size", "1")
        XCTAssertEqual(one.status, 2)
        XCTAssertTrue(one.stderr.contains("at least 2 pairs"), one.stderr)
        let blip = try run("train", "clip", "--model", CLITests.fixtures.appendingPathComponent("blip-caption-tiny").path, "--data", data,
                           "--out", folder + "/run", "--batch-size", "2")
        XCTAssertEqual(blip.status, 1)
        XCTAssertTrue(blip.stderr.contains("takes a CLIP model"), blip.stderr)
        let freeze = try run("train", "clip", "--model", CLITests.fixtures.appendingPathComponent("clip-tiny").path, "--data", data,
                             "--out", folder + "/run", "--freeze", "everything")
        XCTAssertEqual(freeze.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/run"))
    }
}
