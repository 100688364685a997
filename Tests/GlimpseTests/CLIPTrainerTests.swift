import XCTest
@testable import Glimpse

/// A few CLIPTrainer steps on one fixed batch of the tiny checkpoint: the contrastive loss
/// must fall (the update direction and sign are right end to end), and frozen parameters
/// must not move.
final class CLIPTrainerTests: XCTestCase {
    func batch() -> (Tensor, [[Int]]) {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let pixels = Tensor(shape: [4, 3, 64, 64]) { buffer in
            for i in 0 ..< buffer.count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                buffer[i] = Float(state % 2001) / 1000 - 1
            }
        }
        let ids = [[49406, 320, 1125, 49407], [49406, 320, 1929, 539, 49407], [49406, 2368, 49407], [49406, 1000, 531, 518, 49407]]
        return (pixels, ids)
    }

    func testLossFallsOnAFixedBatch() throws {
        let trainer = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), learningRate: 1e-3,
                                      weightDecay: 0.1, schedule: try CosineSchedule(peak: 1e-3, warmupSteps: 2, totalSteps: 12))
        let (pixels, ids) = batch()
        let losses = try (0 ..< 12).map { _ in try trainer.step(pixels: pixels, ids: ids).loss }
        XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "losses: \(losses)")
    }

    func testFrozenParametersStayPut() throws {
        let trainer = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), learningRate: 1e-2,
                                      trainable: { $0.hasSuffix("projection.weight") })
        XCTAssertEqual(trainer.trained.map(\.name), ["text_projection.weight", "visual_projection.weight"])
        let frozen = try XCTUnwrap(trainer.weights.parameter("text_model.final_layer_norm.weight"))
        let before = frozen.scalars, projection = trainer.trained[0].tensor.scalars
        let (pixels, ids) = batch()
        try trainer.step(pixels: pixels, ids: ids)
        XCTAssertEqual(frozen.scalars, before)
        XCTAssertNotEqual(trainer.trained[0].tensor.scalars, projection)
    }
}

/// Inputs that would poison the parameters are refused, and the parameters left as they were.
final class HostileTrainingInputTests: XCTestCase {
    func testNonFinitePixelsAreRefusedWithoutTouchingParameters() throws {
        let trainer = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), learningRate: 1e-2)
        let pixels = Tensor(shape: [2, 3, 64, 64]) { $0[5] = .nan }
        let before = trainer.trained.map(\.tensor.scalars)
        XCTAssertThrowsError(try trainer.step(pixels: pixels, ids: [[49406, 320, 49407], [49406, 1125, 49407]])) { error in
            XCTAssertTrue("\(error)".contains("finite"), "\(error)")
        }
        XCTAssertEqual(trainer.trained.map(\.tensor.scalars), before)
    }

    func testMismatchedBatchesAndOutOfVocabularyIdsAreErrors() throws {
        let trainer = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")))
        let pixels = Tensor(zeros: [2, 3, 64, 64])
        XCTAssertThrowsError(try trainer.step(pixels: pixels, ids: [[49406, 49407]]))
        XCTAssertThrowsError(try trainer.step(pixels: pixels, ids: [[49406, 49407], [49406, 99999, 49407]]))
        XCTAssertThrowsError(try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")), trainable: { _ in false }))
    }
}
