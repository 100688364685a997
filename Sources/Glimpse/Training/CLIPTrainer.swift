import GlimpseCore
import GlimpseImage

/// One CLIP fine-tuning step at a time: the contrastive loss on a batch of matching pairs,
/// its gradient by the tape, gradient-norm clipping, and an AdamW update of the parameters
/// training owns (copied from the checkpoint; the model reads them, so it is always current).
public final class CLIPTrainer: ParameterTrainer {
    public let model: CLIPModel

    /// A trainer for a Hugging Face CLIP checkpoint. `trainable` picks parameters by name
    /// (e.g. only the projections); the others stay frozen.
    public init(checkpoint: Checkpoint, learningRate: Float = 1e-5, weightDecay: Float = 0.1,
                schedule: CosineSchedule? = nil, maxGradientNorm: Float? = 1,
                trainable: (String) -> Bool = { _ in true }) throws {
        let weights = try TrainableWeights(copying: try checkpoint.weights())
        model = try CLIPModel(config: CLIPConfig(reader: checkpoint.config()), weights: weights)
        try super.init(weights: weights, learningRate: learningRate, weightDecay: weightDecay, schedule: schedule,
                       maxGradientNorm: maxGradientNorm, trainable: trainable, model: "CLIP")
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
        try step(microBatches: microBatches.count) { try model.contrastiveLoss(pixels: microBatches[$0].pixels, ids: microBatches[$0].ids) }
    }

    /// The mean micro-batch loss and its gradient for each trained parameter (in `trained`
    /// order), without updating anything: what `step` applies.
    public func lossAndGradients(microBatches: [(pixels: Tensor, ids: [[Int]])]) throws -> (loss: Float, gradients: [Tensor]) {
        try lossAndGradients(microBatches: microBatches.count) {
            try model.contrastiveLoss(pixels: microBatches[$0].pixels, ids: microBatches[$0].ids)
        }
    }
}

extension CLIPTrainer: FineTunable {
    public static var family: String { "clip" }

    public convenience init(checkpoint: Checkpoint, options: FineTuningOptions, schedule: CosineSchedule) throws {
        try self.init(checkpoint: checkpoint, learningRate: options.learningRate, weightDecay: options.weightDecay,
                      schedule: schedule, maxGradientNorm: options.maxGradientNorm,
                      trainable: { Self.trains($0, freeze: options.freeze) })
    }

    /// Whether `freeze` leaves parameter `name` to train: the towers are `text_model.*` and
    /// `vision_model.*`; the projections and the temperature are neither.
    static func trains(_ name: String, freeze: FineTuningFreeze) -> Bool {
        let text = name.hasPrefix("text_model."), vision = name.hasPrefix("vision_model.")
        switch freeze {
        case .none: return true
        case .text: return !text
        case .vision: return !vision
        case .towers: return !text && !vision
        }
    }

    public var minimumBatch: Int { 2 }
    public var imageSize: Int { model.image.imageSize }

    public func inputs(checkpoint: Checkpoint) throws -> (preprocessor: ImagePreprocessor, tokenize: (String) throws -> [Int]) {
        let tokenizer = try checkpoint.clipTokenizerInBackground(embeddingRows: model.text.config.vocabularySize).get()
        let context = model.text.config.maxPositions
        return (try ImagePreprocessor.load(folder: checkpoint.folder),
                { try tokenizer.tokenize($0, contextLength: context, truncate: true) })
    }

    public func train(_ microBatches: [(pixels: Tensor, ids: [[Int]])], step: Int) throws -> Step {
        try self.step(microBatches: microBatches)
    }
}
