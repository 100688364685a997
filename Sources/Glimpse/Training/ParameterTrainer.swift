import GlimpseCore

/// What every fine-tuning run shares, whatever the model: parameters copied from a checkpoint
/// (plus any the objective adds, such as BLIP's temperature), the gradient tape, global
/// gradient-norm clipping, AdamW under an optional schedule, and saving and restoring (see
/// TrainingCheckpoint.swift). `CLIPTrainer` and `BLIPTrainer` add the model and its loss.
///
/// Weight decay applies to matrices only: biases, norms, class tokens and temperatures (every
/// parameter of fewer than two dimensions) are exempt, as in open_clip's training. (BLIP's own
/// scripts decay every parameter; exempting the one-dimensional ones is the usual choice since.)
public class ParameterTrainer {
    public let weights: TrainableWeights
    public let optimizer: AdamW
    /// The learning rate at each step; the optimizer's own rate when nil.
    public let schedule: CosineSchedule?
    /// The global gradient norm is clipped to this when set.
    public let maxGradientNorm: Float?
    /// The parameters being trained (all of them unless a filter froze some), by name: the
    /// checkpoint's, then the objective's own (`extra`).
    public let trained: [(name: String, tensor: Tensor)]
    /// Trained parameters that are not the checkpoint's (saved with the training state).
    public let extra: [(name: String, tensor: Tensor)]
    let tape = GradientTape()

    /// What one step did.
    public struct Step: Sendable {
        public let loss: Float
        /// The global gradient norm before clipping.
        public let gradientNorm: Float
        public let learningRate: Float
    }

    init(weights: TrainableWeights, extra: [(name: String, tensor: Tensor)] = [], learningRate: Float,
         weightDecay: Float, schedule: CosineSchedule?, maxGradientNorm: Float?, trainable: (String) -> Bool,
         model: String) throws {
        self.weights = weights
        self.extra = extra
        trained = weights.parameters.filter { trainable($0.name) } + extra
        guard trained.count > extra.count else {
            throw GlimpseError.invalidArgument("no parameter of this \(model) model is selected for training")
        }
        for parameter in trained { tape.watch(parameter.tensor) }
        let ranks = trained.map(\.tensor.rank)
        optimizer = try AdamW(parameters: trained.map(\.tensor), learningRate: learningRate,
                              weightDecay: weightDecay, decayed: { ranks[$0] >= 2 })
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
    }

    /// One update from `count` micro-batches: `loss(i)` computes micro-batch i's loss (run on
    /// the tape, then back-propagated before the next, so only one micro-batch's activations
    /// are alive at a time); the update follows the gradient of their mean. A non-finite loss
    /// or gradient is an error and leaves the parameters as they were.
    func step(microBatches count: Int, loss: (Int) throws -> Tensor) throws -> Step {
        let (value, gradients) = try lossAndGradients(microBatches: count, loss: loss)
        let norm = clipGradientNorm(gradients, maxNorm: maxGradientNorm ?? .infinity)
        // A non-finite loss or gradient would turn every parameter into NaN: refuse the update.
        guard value.isFinite, norm.isFinite else {
            throw GlimpseError.invalidArgument("training step \(optimizer.step + 1): loss \(value), gradient norm \(norm); expected finite values, parameters left unchanged")
        }
        if let schedule { optimizer.learningRate = schedule.learningRate(at: optimizer.step) }
        try optimizer.update(gradients: gradients)
        return Step(loss: value, gradientNorm: norm, learningRate: optimizer.learningRate)
    }

    /// The mean micro-batch loss and its gradient for each trained parameter (in `trained`
    /// order), without updating anything: what `step` applies.
    func lossAndGradients(microBatches count: Int, loss: (Int) throws -> Tensor) throws -> (loss: Float, gradients: [Tensor]) {
        guard count > 0 else { throw GlimpseError.invalidArgument("training step: no micro-batch given") }
        tape.reset()  // anything left by a step that failed part-way
        tape.zeroGradients()
        var total: Float = 0
        let weight = 1 / Float(count)
        for index in 0 ..< count {
            let value = try tape.record {
                let value = try loss(index)
                return count > 1 ? scaled(value, weight) : value
            }
            try tape.backward(from: value)
            total += value.item
        }
        return (total, trained.compactMap { tape.gradient(of: $0.tensor) })
    }
}
