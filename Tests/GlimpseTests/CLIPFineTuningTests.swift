import Foundation
import XCTest
@testable import Glimpse

/// The fine-tuning loop end to end on the synthetic shapes (written as PNGs and a manifest,
/// read back through the dataset readers): it learns (zero-shot accuracy on held-out shapes
/// from chance, 1/12, to ≥ 90 %), a run interrupted and resumed ends with exactly the parameters of
/// an uninterrupted one, and options that cannot work are refused.
final class CLIPFineTuningTests: XCTestCase {
    var model: Checkpoint { get throws { try Checkpoint(folder: Fixtures.path("clip-tiny")) } }

    /// Fraction of `samples` whose own caption is the nearest of the 12 captions (cosine).
    func zeroShotAccuracy(_ clip: CLIPModel, _ samples: [SyntheticShapes.Sample], source: Checkpoint) throws -> Double {
        let tokenizer = try CLIPTokenizer.load(folder: source.folder)
        let captions = SyntheticShapes.captions
        let texts = try clip.textFeatures(ids: captions.map { try tokenizer.tokenize($0) })
        let preprocessor = try ImagePreprocessor.load(folder: source.folder)
        let pixels = try PixelBatch(images: samples.map(\.image), preprocessor: preprocessor, size: clip.image.imageSize).pixels
        let images = try clip.imageFeatures(pixels: pixels)
        let (t, i, d) = (texts.scalars, images.scalars, texts.shape[1])
        func norm(_ v: ArraySlice<Float>) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var correct = 0
        for (row, sample) in samples.enumerated() {
            let image = i[row * d ..< (row + 1) * d]
            let scores = captions.indices.map { c -> Float in
                let text = t[c * d ..< (c + 1) * d]
                return zip(image, text).reduce(0) { $0 + $1.0 * $1.1 } / (norm(image) * norm(text))
            }
            let best = scores.indices.max { scores[$0] < scores[$1] } ?? 0
            if captions[best] == sample.caption { correct += 1 }
        }
        return Double(correct) / Double(samples.count)
    }

    func testZeroShotAccuracyRisesFarAboveChance() throws {
        let shapes = try SyntheticShapes(side: 32, seed: 7)
        let folder = try scratch("shapes")
        let manifest = try shapes.write(0 ..< 1440, to: folder)
        let heldOut = (100_000 ..< 100_240).map(shapes.sample)
        var options = CLIPFineTuning.Options()
        options.epochs = 30
        options.batchSize = 48
        options.learningRate = 5e-3
        options.weightDecay = 0.01
        options.maxGradientNorm = nil
        options.warmupSteps = 10
        options.seed = 1
        let untrained = try Checkpoint(folder: Fixtures.path("clip-shapes-tiny"))
        let run = try CLIPFineTuning(model: untrained, data: [manifest], output: try scratch("run"), options: options)
        let before = try zeroShotAccuracy(run.trainer.model, heldOut, source: untrained)
        XCTAssertLessThan(before, 0.3, "an untrained model should be near chance (1/12)")
        try run.run()
        let after = try zeroShotAccuracy(run.trainer.model, heldOut, source: untrained)
        print("zero-shot accuracy on \(heldOut.count) held-out shapes: \(before) before, \(after) after \(run.totalSteps) steps")
        // From chance (1/12) to ≥ 90 %: 900 steps over 1,440 shapes. Measured with the release
        // CLI on another held-out set: 0.97, and 0.93 / 0.98 with data-order seeds 2 and 3
        // (480 shapes for 300 steps reached only 0.65, 1,000 steps on 480 overfit at 0.80-0.87).
        XCTAssertGreaterThanOrEqual(after, 0.9)
        // The saved folder is the trained model.
        let saved = try CLIPModel(checkpoint: Checkpoint(folder: run.output))
        XCTAssertEqual(try zeroShotAccuracy(saved, heldOut, source: untrained), after)
        let lines = try String(contentsOfFile: run.output + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, run.totalSteps)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.output + "/loss.png"))
    }

    func testResumedRunEndsWithTheParametersOfAnUninterruptedOne() throws {
        let folder = try scratch("resume-data")
        let manifest = try SyntheticShapes(side: 32, seed: 3).write(0 ..< 24, to: folder)
        var options = CLIPFineTuning.Options()
        options.epochs = 2
        options.batchSize = 6
        options.learningRate = 1e-3
        options.warmupSteps = 2
        options.seed = 9
        options.randomCrop = RandomResizedCrop()  // its draws must repeat after the resume too
        let straight = try CLIPFineTuning(model: model, data: [manifest], output: try scratch("straight"), options: options)
        try straight.run()
        var interrupted = options
        interrupted.stopAfterSteps = 3
        let first = try CLIPFineTuning(model: model, data: [manifest], output: try scratch("first"), options: interrupted)
        try first.run()
        XCTAssertEqual(first.completedSteps, 3)
        let second = try CLIPFineTuning(model: model, data: [manifest], output: try scratch("second"), options: options,
                                        resume: Checkpoint(folder: first.output))
        XCTAssertEqual(second.completedSteps, 3)
        try second.run()
        XCTAssertEqual(second.trainer.optimizer.step, straight.trainer.optimizer.step)
        XCTAssertEqual(straight.trainer.optimizer.step, 8)
        for (a, b) in zip(straight.trainer.weights.parameters, second.trainer.weights.parameters) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual(a.tensor.scalars, b.tensor.scalars, a.name)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: straight.output + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: second.output + "/model.safetensors")))
        // A different seed would change the data order: refused.
        var reseeded = options
        reseeded.seed = 10
        XCTAssertThrowsError(try CLIPFineTuning(model: model, data: [manifest], output: try scratch("x"), options: reseeded,
                                                resume: Checkpoint(folder: first.output)))
    }

    /// A WebDataset shard trains exactly as the manifest of the same pairs, its images kept as
    /// offsets into the shard (read per batch) rather than in memory.
    func testAShardTrainsAsTheManifestWithItsImagesReadPerBatch() throws {
        let folder = try scratch("shard-data")
        let manifest = try SyntheticShapes(side: 32, seed: 4).write(0 ..< 8, to: folder)
        let shard = folder + "/shapes.tar"
        FileManager.default.createFile(atPath: shard, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: shard))
        let writer = try TarWriter(name: shard) { handle.write(Data($0)) }
        for line in try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n") {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            let key = String(try XCTUnwrap(object["image"]).dropLast(4))
            try writer.add(key + ".png", bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + (object["image"] ?? "")))))
            try writer.add(key + ".txt", bytes: Array(try XCTUnwrap(object["text"]).utf8))
        }
        try writer.finish()
        try handle.close()
        var options = CLIPFineTuning.Options()
        options.batchSize = 4
        options.learningRate = 1e-3
        let model = try Checkpoint(folder: Fixtures.path("clip-shapes-tiny"))
        let fromManifest = try CLIPFineTuning(model: model, data: [manifest], output: try scratch("m"), options: options)
        let fromShard = try CLIPFineTuning(model: model, data: [shard], output: try scratch("s"), options: options)
        XCTAssertEqual(fromShard.records.count, 8)
        XCTAssertTrue(fromShard.records.allSatisfy { if case .archiveMember = $0.image { return true } else { return false } })
        try fromManifest.run()
        try fromShard.run()
        for (a, b) in zip(fromManifest.trainer.weights.parameters, fromShard.trainer.weights.parameters) {
            XCTAssertEqual(a.tensor.scalars, b.tensor.scalars, a.name)
        }
    }

    func testOptionsThatCannotWorkAreRefused() throws {
        let folder = try scratch("refuse")
        let manifest = try SyntheticShapes(side: 32, seed: 3).write(0 ..< 4, to: folder)
        var one = CLIPFineTuning.Options()
        one.batchSize = 1
        XCTAssertThrowsError(try CLIPFineTuning(model: model, data: [manifest], output: folder + "/o", options: one)) {
            XCTAssertTrue("\($0)".contains("at least 2"), "\($0)")
        }
        var big = CLIPFineTuning.Options()
        big.batchSize = 8
        XCTAssertThrowsError(try CLIPFineTuning(model: model, data: [manifest], output: folder + "/o", options: big)) {
            XCTAssertTrue("\($0)".contains("fewer than one batch"), "\($0)")
        }
        XCTAssertThrowsError(try CLIPFineTuning(model: Checkpoint(folder: Fixtures.path("blip-caption-tiny")), data: [manifest],
                                                output: folder + "/o")) {
            XCTAssertTrue("\($0)".contains("takes a CLIP model"), "\($0)")
        }
    }
}
