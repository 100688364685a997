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

    func testDivisionByTheTemperatureAndSoftTargetCrossEntropy() throws {
        try check("divided", ["x", "t"]) { divided($0["x"]!, by: $0["t"]!) }
        let targets = try store.tensor("soft_ce.targets")
        try check("soft_ce", ["logits"]) { try crossEntropy($0["logits"]!, softTargets: targets) }
    }

    func testBLIPContrastiveLossWithHardAndSoftTargets() throws {
        try check("blip_itc", ["image", "text", "temperature"]) {
            try blipContrastiveLoss(imageFeatures: $0["image"]!, textFeatures: $0["text"]!, temperature: $0["temperature"]!).loss
        }
        let momentum = try store.tensor("blip_itc_soft.momentum")
        try check("blip_itc_soft", ["image", "text", "temperature"]) {
            try blipContrastiveLoss(imageFeatures: $0["image"]!, textFeatures: $0["text"]!, temperature: $0["temperature"]!,
                                    momentumSimilarities: momentum, alpha: 0.4).loss
        }
    }

    /// BLIP's negatives: never the matching pair, drawn in proportion to softmax(similarity)
    /// + 1e-4 (checked on frequencies), the same for the same seed.
    func testHardNegativesFollowTheSimilarities() throws {
        let s = Tensor(shape: [3, 3], values: [5, 2, 0,  1, 5, 1,  3, 0, 5])
        var counts = [[Int]](repeating: [0, 0, 0], count: 3), columnCounts = counts
        var generator = SplitMix64(seed: 3)
        let draws = 20_000
        for _ in 0 ..< draws {
            let negatives = try HardNegatives.sample(similarities: s, using: &generator)
            for i in 0 ..< 3 {
                XCTAssertNotEqual(negatives.textForImage[i], i)
                XCTAssertNotEqual(negatives.imageForText[i], i)
                counts[i][negatives.textForImage[i]] += 1
                columnCounts[i][negatives.imageForText[i]] += 1
            }
        }
        // Image 0 over texts 1 and 2: weights softmax([5, 2, 0]) + 1e-4 at 1 and 2.
        func expectedShare(_ row: [Double], _ i: Int, _ j: Int) -> Double {
            let e = row.map { Foundation.exp($0) }, sum = e.reduce(0, +)
            let w = e.enumerated().map { $0.offset == i ? 0 : $0.element / sum + 1e-4 }
            return w[j] / w.reduce(0, +)
        }
        XCTAssertEqual(Double(counts[0][1]) / Double(draws), expectedShare([5, 2, 0], 0, 1), accuracy: 0.01)
        XCTAssertEqual(Double(counts[1][0]) / Double(draws), expectedShare([1, 5, 1], 1, 0), accuracy: 0.01)
        // Text 2 reads column 2: [0, 1, 5].
        XCTAssertEqual(Double(columnCounts[2][1]) / Double(draws), expectedShare([0, 1, 5], 2, 1), accuracy: 0.01)
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        XCTAssertEqual(try HardNegatives.sample(similarities: s, using: &a), try HardNegatives.sample(similarities: s, using: &b))
        XCTAssertThrowsError(try HardNegatives.sample(similarities: Tensor(zeros: [1, 1]), using: &a))
    }

    func testObjectivesRejectMismatchedBatches() throws {
        let a = Tensor(zeros: [3, 4]), b = Tensor(zeros: [2, 4]), s = Tensor(zeros: [1])
        XCTAssertThrowsError(try clipContrastiveLoss(imageFeatures: a, textFeatures: b, logitScale: s))
        XCTAssertThrowsError(try crossEntropy(a, targets: [0, 1, 9]))
        XCTAssertThrowsError(try crossEntropy(a, targets: [-100, -100, -100], ignoreIndex: -100))
        XCTAssertThrowsError(try languageModelingLoss(logits: a, labels: [[1, 2]], sequences: [0 ..< 3]))
        XCTAssertThrowsError(try blipContrastiveLoss(imageFeatures: a, textFeatures: a, temperature: Tensor(zeros: [1])))
        XCTAssertThrowsError(try blipContrastiveLoss(imageFeatures: a, textFeatures: a, temperature: Tensor(shape: [1], values: [0.07]),
                                                     momentumSimilarities: Tensor(zeros: [2, 2])))
        XCTAssertThrowsError(try crossEntropy(a, softTargets: Tensor(zeros: [3, 4])))  // rows do not sum to 1
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
