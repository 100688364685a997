import XCTest
@testable import GlimpseCore

/// The training objectives against PyTorch implementations of their reference formulas
/// (Tools/fixtures/make_autodiff_fixtures.py): value and gradients within 1e-4 relative.
extension AutodiffTests {
    func testCLIPContrastiveLossMatchesTransformers() throws {
        try check("clip_loss", ["image", "text", "scale"]) {
            try clipContrastiveLoss(imageFeatures: $0["image"]!, textFeatures: $0["text"]!, logitScale: $0["scale"]!)
        }
    }

    func testBLIPLanguageModellingLossWithLabelSmoothingOnPackedSequences() throws {
        let lengths = try integers("lm_loss.lengths"), flat = try integers("lm_loss.labels")
        let sequences = ranges(lengths)
        let labels = sequences.map { Array(flat[$0]) }
        try check("lm_loss", ["logits"]) {
            try languageModelingLoss(logits: $0["logits"]!, labels: labels, sequences: sequences, labelSmoothing: 0.1)
        }
    }

    func testObjectivesRejectMismatchedBatches() throws {
        let a = Tensor(zeros: [3, 4]), b = Tensor(zeros: [2, 4]), s = Tensor(zeros: [1])
        XCTAssertThrowsError(try clipContrastiveLoss(imageFeatures: a, textFeatures: b, logitScale: s))
        XCTAssertThrowsError(try crossEntropy(a, targets: [0, 1, 9]))
        XCTAssertThrowsError(try crossEntropy(a, targets: [-100, -100, -100], ignoreIndex: -100))
        XCTAssertThrowsError(try languageModelingLoss(logits: a, labels: [[1, 2]], sequences: [0 ..< 3]))
    }
}

/// AdamW, the cosine schedule and gradient clipping against torch.optim.AdamW,
/// transformers' get_cosine_schedule_with_warmup and torch.nn.utils.clip_grad_norm_.
final class OptimizerTests: XCTestCase {
    func testAdamWMatchesTorchStepForStep() throws {
        let store = try GradientParity.fixture("ops.safetensors")
        let p1 = try store.tensor("adamw.p1").copy(), p2 = try store.tensor("adamw.p2").copy()
        let adam = try AdamW(parameters: [p1, p2], learningRate: 1e-2, beta1: 0.9, beta2: 0.98, eps: 1e-6,
                             weightDecay: 0.1, decayed: { $0 == 0 })
        for step in 0 ..< 5 {
            try adam.update(gradients: [try store.tensor("adamw.grad1_\(step)"), try store.tensor("adamw.grad2_\(step)")])
            GradientParity.assertClose(p1, try store.tensor("adamw.p1_\(step)"), "p1 after step \(step + 1)", tolerance: 1e-5)
            GradientParity.assertClose(p2, try store.tensor("adamw.p2_\(step)"), "p2 after step \(step + 1)", tolerance: 1e-5)
        }
        XCTAssertEqual(adam.step, 5)
    }

    func testAdamWRefusesMemoryMappedParameters() throws {
        let store = try GradientParity.fixture("ops.safetensors")
        XCTAssertThrowsError(try AdamW(parameters: [try store.tensor("adamw.p1")]))
    }

    func testCosineScheduleWithWarmupMatchesTransformers() throws {
        let expected = try GradientParity.fixture("ops.safetensors").tensor("cosine.rates").scalars
        let schedule = try CosineSchedule(peak: 5e-4, warmupSteps: 3, totalSteps: 10)
        for (step, rate) in expected.enumerated() {
            XCTAssertEqual(schedule.learningRate(at: step), rate, accuracy: 1e-9, "step \(step)")
        }
        XCTAssertThrowsError(try CosineSchedule(peak: 1e-3, warmupSteps: 11, totalSteps: 10))
    }

    func testGradientNormClippingMatchesTorch() throws {
        let store = try GradientParity.fixture("ops.safetensors")
        for name in ["clip_norm", "clip_norm_loose"] {
            let g1 = try store.tensor("\(name).g1").copy(), g2 = try store.tensor("\(name).g2").copy()
            let norm = clipGradientNorm([g1, g2], maxNorm: try store.tensor("\(name).max_norm").item)
            XCTAssertEqual(norm, try store.tensor("\(name).norm").item, accuracy: 1e-5 * norm)
            GradientParity.assertClose(g1, try store.tensor("\(name).clipped1"), "\(name) g1", tolerance: 1e-6)
            GradientParity.assertClose(g2, try store.tensor("\(name).clipped2"), "\(name) g2", tolerance: 1e-6)
        }
    }
}
