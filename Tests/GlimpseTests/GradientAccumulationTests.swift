import XCTest
@testable import Glimpse

/// Gradient accumulation over micro-batches: the accumulated gradient is the mean of each
/// micro-batch's own contrastive-loss gradient (computed here one micro-batch at a time and
/// averaged independently), and — the point of documenting it — not the gradient of one
/// contrastive loss over all the pairs, which has more negatives per pair.
final class GradientAccumulationTests: XCTestCase {
    func batch(_ seed: UInt64, _ ids: [[Int]]) -> (pixels: Tensor, ids: [[Int]]) {
        var state = seed
        let pixels = Tensor(shape: [ids.count, 3, 64, 64]) { buffer in
            for i in 0 ..< buffer.count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                buffer[i] = Float(state % 2001) / 1000 - 1
            }
        }
        return (pixels, ids)
    }

    func testTwoHalfBatchesGiveTheMeanOfTheirGradients() throws {
        let trainer = try CLIPTrainer(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny")))
        let first = batch(0x2545_F491_4F6C_DD1D, [[49406, 320, 1125, 49407], [49406, 320, 1929, 539, 49407]])
        let second = batch(0x9E37_79B9_7F4A_7C15, [[49406, 2368, 49407], [49406, 1000, 531, 518, 49407]])
        let (accumulatedLoss, accumulatedTensors) = try trainer.lossAndGradients(microBatches: [first, second])
        let accumulated = accumulatedTensors.map(\.scalars)
        let (loss1, g1) = try trainer.lossAndGradients(microBatches: [first])
        let one = g1.map(\.scalars)
        let (loss2, g2) = try trainer.lossAndGradients(microBatches: [second])
        let two = g2.map(\.scalars)
        XCTAssertEqual(accumulatedLoss, (loss1 + loss2) / 2, accuracy: 1e-6)
        var worst: Float = 0, largest: Float = 0
        for (index, values) in accumulated.enumerated() {
            for i in values.indices {
                worst = max(worst, abs(values[i] - (one[index][i] + two[index][i]) / 2))
                largest = max(largest, abs(values[i]))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5 * largest, "accumulated gradient differs from the mean by \(worst)")
        // One contrastive batch of all four pairs is a different objective.
        let whole = (pixels: Tensor.concatenatingRows([first.pixels, second.pixels], rowShape: [3, 64, 64]), ids: first.ids + second.ids)
        let full = try trainer.lossAndGradients(microBatches: [whole]).gradients.map(\.scalars)
        let difference = zip(full, accumulated).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
        XCTAssertGreaterThan(difference, 1e-3 * largest)
    }
}
