import Foundation
import XCTest
@testable import Glimpse

/// A trained CLIP saved in the Hugging Face layout: the same tensor names and shapes as the
/// source checkpoint (read back independently from the safetensors header), fp32 values equal
/// to the trained tensors, the config and companion files beside them, and a folder that
/// Glimpse loads back into a model with the same outputs. (The transformers side of the round
/// trip is Tools/fixtures/check_clip_checkpoint.py.)
final class TrainingCheckpointTests: XCTestCase {
    func trainedOnce() throws -> CLIPTrainer {
        let trainer = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), learningRate: 1e-2)
        let pixels = Tensor(shape: [2, 3, 64, 64]) { for i in 0 ..< $0.count { $0[i] = Float(i % 97) / 48 - 1 } }
        try trainer.step(pixels: pixels, ids: [[49406, 320, 1125, 49407], [49406, 2368, 49407]])
        return trainer
    }

    /// Name → (dtype, shape) straight from a safetensors header, parsed here without the reader under test.
    func header(_ path: String) throws -> [String: (String, [Int])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8 ..< 8 + length)) as? [String: Any])
        var result: [String: (String, [Int])] = [:]
        for (name, value) in object where name != "__metadata__" {
            let entry = try XCTUnwrap(value as? [String: Any])
            result[name] = (try XCTUnwrap(entry["dtype"] as? String), try XCTUnwrap(entry["shape"] as? [Int]))
        }
        return result
    }

    func testSavedModelHasTheSourceNamesAndShapesAndTheTrainedValues() throws {
        let trainer = try trainedOnce()
        let folder = try scratch("save")
        let source = try Checkpoint(folder: Fixtures.path("clip-tiny"))
        try trainer.saveModel(to: folder, source: source)
        let saved = try header(folder + "/model.safetensors"), original = try header(Fixtures.path("clip-tiny/model.safetensors"))
        XCTAssertEqual(saved.keys.sorted(), original.keys.sorted())
        for (name, (dtype, shape)) in original {
            XCTAssertEqual(saved[name]?.1, shape, name)
            XCTAssertEqual(saved[name]?.0, ["F16", "BF16", "F32"].contains(dtype) ? "F32" : dtype, name)
        }
        let file = try SafetensorsFile(path: folder + "/model.safetensors")
        for parameter in trainer.weights.parameters {
            XCTAssertEqual(try file.tensor(parameter.name).scalars, parameter.tensor.scalars, parameter.name)
        }
        // The trained tensors moved away from the source's values, so the check above is not vacuous.
        let moved = try XCTUnwrap(trainer.weights.parameter("visual_projection.weight"))
        XCTAssertNotEqual(try source.weights().tensor("visual_projection.weight").scalars, moved.scalars)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))) as? [String: Any])
        XCTAssertEqual(config["dtype"] as? String, "float32")
        XCTAssertEqual(config["model_type"] as? String, "clip")
        // Floats stay written as floats (transformers' typed configs refuse 1 for 1.0).
        XCTAssertTrue(try String(contentsOfFile: folder + "/config.json", encoding: .utf8).contains(#""initializer_factor": 1.0"#))
        for name in ["preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("clip-tiny/" + name))), name)
        }
    }

    func testSavedFolderLoadsBackWithIdenticalOutputs() throws {
        let trainer = try trainedOnce()
        let folder = try scratch("reload")
        try trainer.saveModel(to: folder, source: Checkpoint(folder: Fixtures.path("clip-tiny")))
        let reloaded = try CLIP(checkpoint: Checkpoint(folder: folder))
        // Bit for bit on the same (unpacked) products the trainer runs; packed for inference,
        // within fp32 rounding.
        let unpacked = try CLIPModel(config: CLIPConfig(reader: Checkpoint(folder: folder).config()),
                                     weights: SafetensorsFile(path: folder + "/model.safetensors"))
        let pixels = Tensor(shape: [2, 3, 64, 64]) { for i in 0 ..< $0.count { $0[i] = Float((i * 7) % 89) / 44 - 1 } }
        let ids = [[49406, 320, 1929, 539, 49407], [49406, 1000, 49407]]
        XCTAssertEqual(try unpacked.imageFeatures(pixels: pixels).scalars, try trainer.model.imageFeatures(pixels: pixels).scalars)
        XCTAssertEqual(try unpacked.textFeatures(ids: ids).scalars, try trainer.model.textFeatures(ids: ids).scalars)
        assertClose(try reloaded.model.imageFeatures(pixels: pixels).scalars, try trainer.model.imageFeatures(pixels: pixels).scalars,
                    abs: 1e-5, "packed image features")
        assertClose(try reloaded.model.textFeatures(ids: ids).scalars, try trainer.model.textFeatures(ids: ids).scalars,
                    abs: 1e-5, "packed text features")
        XCTAssertEqual(try reloaded.tokenize("a red circle"), try CLIP(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny"))).tokenize("a red circle"))
    }

    func testTrainingStateRoundTripsAndRefusesOtherParameters() throws {
        let trainer = try trainedOnce()
        let folder = try scratch("state")
        try trainer.saveState(to: folder, position: .init(steps: 7, seed: 42))
        let fresh = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), learningRate: 1e-2)
        XCTAssertEqual(try fresh.restoreState(from: folder), .init(steps: 7, seed: 42))
        XCTAssertEqual(fresh.optimizer.step, 1)
        XCTAssertEqual(fresh.optimizer.firstMoments.map(\.scalars), trainer.optimizer.firstMoments.map(\.scalars))
        XCTAssertEqual(fresh.optimizer.secondMoments.map(\.scalars), trainer.optimizer.secondMoments.map(\.scalars))
        let projections = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), trainable: { $0.hasSuffix("projection.weight") })
        XCTAssertThrowsError(try projections.restoreState(from: folder))
    }
}
