import GlimpseCore

/// One CLIP fine-tuning step at a time: the contrastive loss on a batch of matching pairs,
/// its gradient by the tape, gradient-norm clipping, and an AdamW update of the parameters
/// training owns (copied from the checkpoint; the model reads them, so it is always current).
///
/// Weight decay applies to matrices only: biases, norms, the class token and the temperature
/// (every parameter of fewer than two dimensions) are exempt, as in open_clip's training.
public final class CLIPTrainer {
    public let model: CLIPModel
    public let weights: TrainableWeights
    public let optimizer: AdamW
    /// The learning rate at each step; the optimizer's own rate when nil.
    public let schedule: CosineSchedule?
    /// The global gradient norm is clipped to this when set.
    public let maxGradientNorm: Float?
    /// The parameters being trained (all of them unless a filter froze some), by name.
    public let trained: [(name: String, tensor: Tensor)]
    private let tape = GradientTape()

    /// What one step did.
    public struct Step: Sendable {
        public let loss: Float
        /// The global gradient norm before clipping.
        public let gradientNorm: Float
        public let learningRate: Float
    }

    /// A trainer for a Hugging Face CLIP checkpoint. `trainable` picks parameters by name
    /// (e.g. only the projections); the others stay frozen.
    public init(checkpoint: Checkpoint, learningRate: Float = 1e-5, weightDecay: Float = 0.1,
                schedule: CosineSchedule? = nil, maxGradientNorm: Float? = 1,
                trainable: (String) -> Bool = { _ in true }) throws {
        weights = try TrainableWeights(copying: try checkpoint.weights())
        model = try CLIPModel(config: CLIPConfig(reader: checkpoint.config()), weights: weights)
        trained = weights.parameters.filter { trainable($0.name) }
        guard !trained.isEmpty else { throw GlimpseError.invalidArgument("no parameter of this CLIP model is selected for training") }
        for parameter in trained { tape.watch(parameter.tensor) }
        let ranks = trained.map(\.tensor.rank)
        optimizer = try AdamW(parameters: trained.map(\.tensor), learningRate: learningRate,
                              weightDecay: weightDecay, decayed: { ranks[$0] >= 2 })
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
    }

    /// Forward, loss, backward, clipping and one optimizer update on `pixels` [B, C, S, S]
    /// and the B matching token-id sequences. A non-finite loss or gradient is an error and
    /// leaves the parameters as they were.
    @discardableResult
    public func step(pixels: Tensor, ids: [[Int]]) throws -> Step {
        try step(microBatches: [(pixels, ids)])
    }

    /// Gradient accumulation: one update from several micro-batches, each forward and backward
    /// in turn (only one micro-batch's activations alive at a time). Each micro-batch is a
    /// contrastive batch of its own — its pairs are each other's only negatives — and the
    /// update follows the gradient of the mean of the micro-batch losses. That is not the
    /// gradient of one contrastive loss over all the pairs together (which would compare every
    /// image with every text of the union); it is what accumulation means for a loss that is
    /// not a sum over examples, as in open_clip without its feature cache. The reported loss is
    /// that mean.
    @discardableResult
    public func step(microBatches: [(pixels: Tensor, ids: [[Int]])]) throws -> Step {
        let (loss, gradients) = try lossAndGradients(microBatches: microBatches)
        let norm = maxGradientNorm.map { clipGradientNorm(gradients, maxNorm: $0) }
            ?? clipGradientNorm(gradients, maxNorm: .infinity)
        // A non-finite loss or gradient would turn every parameter into NaN: refuse the update.
        guard loss.isFinite, norm.isFinite else {
            throw GlimpseError.invalidArgument("training step \(optimizer.step + 1): loss \(loss), gradient norm \(norm); expected finite values, parameters left unchanged")
        }
        if let schedule { optimizer.learningRate = schedule.learningRate(at: optimizer.step) }
        try optimizer.update(gradients: gradients)
        return Step(loss: loss, gradientNorm: norm, learningRate: optimizer.learningRate)
    }

    /// The mean micro-batch loss and its gradient for each trained parameter (in `trained`
    /// order), without updating anything: what `step` applies.
    public func lossAndGradients(microBatches: [(pixels: Tensor, ids: [[Int]])]) throws -> (loss: Float, gradients: [Tensor]) {
        guard !microBatches.isEmpty else { throw GlimpseError.invalidArgument("training step: no micro-batch given") }
        tape.reset()  // anything left by a step that failed part-way
        tape.zeroGradients()
        var total: Float = 0
        let weight = 1 / Float(microBatches.count)
        for batch in microBatches {
            let loss = try tape.record {
                let loss = try model.contrastiveLoss(pixels: batch.pixels, ids: batch.ids)
                return microBatches.count > 1 ? scaled(loss, weight) : loss
            }
            try tape.backward(from: loss)
            total += loss.item
        }
        return (total, trained.compactMap { tape.gradient(of: $0.tensor) })
    }
}
