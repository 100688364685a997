import GlimpseCore
import GlimpseImage
import GlimpseText

/// One BLIP fine-tuning step at a time, with the objectives BLIP fine-tunes each head with
/// (Li et al. 2022, §4): a retrieval checkpoint (BlipForImageTextRetrieval) trains on ITC + ITM,
/// its hard negatives drawn from the contrastive similarities; a captioning checkpoint
/// (BlipForConditionalGeneration) trains on the LM loss with label smoothing 0.1.
///
/// ITC's temperature is not part of a transformers checkpoint: it starts at BLIP's 0.07,
/// trains as BLIP's `temp` does (clamped to [0.001, 0.5] before every step) and is kept in
/// the training state, so a resumed run continues with it. ITC here has hard targets; the
/// momentum encoder that BLIP's soft targets come from is not kept (it would double the
/// parameters); `blipContrastiveLoss` takes momentum similarities from any other source.
public final class BLIPTrainer: ParameterTrainer {
    public enum Model {
        case retrieval(BLIPRetrievalModel)
        case captioning(BLIPCaptioningModel)
    }

    public let model: Model
    public let config: BLIPConfig
    /// ITC's learned temperature (retrieval only).
    public let temperature: Tensor?
    /// The LM loss's label smoothing (captioning only).
    public let labelSmoothing: Float
    /// Seeds the hard-negative draws: step s of a run draws from (seed, s), so a resumed run
    /// draws the same negatives as an uninterrupted one.
    public let seed: UInt64

    /// A trainer for a Hugging Face BLIP retrieval or captioning checkpoint. `trainable` picks
    /// parameters by name; the others stay frozen.
    public init(checkpoint: Checkpoint, learningRate: Float = 1e-5, weightDecay: Float = 0.05,
                schedule: CosineSchedule? = nil, maxGradientNorm: Float? = 1, labelSmoothing: Float = 0.1,
                seed: UInt64 = 0, trainable: (String) -> Bool = { _ in true }) throws {
        let config = try BLIPConfig(reader: checkpoint.config())
        let weights = try TrainableWeights(copying: try checkpoint.weights())
        switch config.architecture {
        case "BlipForImageTextRetrieval":
            model = .retrieval(try BLIPRetrievalModel(config: config, weights: weights))
            temperature = Tensor(shape: [1], values: [0.07])
        case "BlipForConditionalGeneration":
            model = .captioning(try BLIPCaptioningModel(config: config, weights: weights))
            temperature = nil
        default:
            throw GlimpseError.invalidArgument("\(checkpoint.folder.path) holds a BLIP '\(config.architecture ?? "model without an architecture")'; training takes BlipForImageTextRetrieval (ITC + ITM) or BlipForConditionalGeneration (LM)")
        }
        guard (0 ... 1).contains(labelSmoothing) else {
            throw GlimpseError.invalidArgument("label smoothing \(labelSmoothing) is outside 0 ... 1")
        }
        self.config = config
        self.labelSmoothing = labelSmoothing
        self.seed = seed
        try super.init(weights: weights, extra: temperature.map { [("temp", $0)] } ?? [], learningRate: learningRate,
                       weightDecay: weightDecay, schedule: schedule, maxGradientNorm: maxGradientNorm,
                       trainable: trainable, model: "BLIP")
    }

    /// The loss of one batch of matching pairs at run step `step` (which seeds the negatives):
    /// ITC + ITM, or LM.
    public func loss(pixels: Tensor, ids: [[Int]], step: Int) throws -> Tensor {
        switch model {
        case .captioning(let captioner):
            return try captioner.languageModelingLoss(pixels: pixels, ids: ids, labelSmoothing: labelSmoothing)
        case .retrieval(let retrieval):
            guard let temperature else { throw GlimpseError.invalidArgument("BLIP retrieval training has no temperature") }
            var generator = SplitMix64(seed: seed ^ (UInt64(step) &* 0x9e37_79b9_7f4a_7c15))
            let losses = try retrieval.contrastiveAndMatchingLosses(pixels: pixels, ids: ids, temperature: temperature) {
                try HardNegatives.sample(similarities: $0, using: &generator)
            }
            return losses.total
        }
    }

    /// One update from micro-batches of matching pairs; `step` is the run's step (negatives).
    @discardableResult
    public func step(microBatches: [(pixels: Tensor, ids: [[Int]])], step: Int) throws -> Step {
        if let temperature {
            // BLIP: `with torch.no_grad(): self.temp.clamp_(0.001, 0.5)` before the forward pass.
            temperature.withUnsafeMutableBufferPointer { $0[0] = min(max($0[0], 0.001), 0.5) }
        }
        return try self.step(microBatches: microBatches.count) {
            try loss(pixels: microBatches[$0].pixels, ids: microBatches[$0].ids, step: step &* 1_000 &+ $0)
        }
    }
}

extension BLIPTrainer: FineTunable {
    public static var family: String { "blip" }

    public convenience init(checkpoint: Checkpoint, options: FineTuningOptions, schedule: CosineSchedule) throws {
        try self.init(checkpoint: checkpoint, learningRate: options.learningRate, weightDecay: options.weightDecay,
                      schedule: schedule, maxGradientNorm: options.maxGradientNorm, seed: options.seed,
                      trainable: { Self.trains($0, freeze: options.freeze) })
    }

    /// Whether `freeze` leaves parameter `name` to train: the towers are `vision_model.*` and
    /// the text transformer (`text_encoder.*`, or `text_decoder.bert.*` of a captioner); the
    /// projections, the ITM head and the captioner's LM head are neither.
    static func trains(_ name: String, freeze: FineTuningFreeze) -> Bool {
        let text = name.hasPrefix("text_encoder.") || name.hasPrefix("text_decoder.bert.")
        let vision = name.hasPrefix("vision_model.")
        switch freeze {
        case .none: return true
        case .text: return !text
        case .vision: return !vision
        case .towers: return !text && !vision
        }
    }

    /// ITC and ITM compare the pairs of a batch; the LM loss reads each pair alone.
    public var minimumBatch: Int { isCaptioning ? 1 : 2 }
    private var isCaptioning: Bool { if case .captioning = model { return true } else { return false } }
    public var imageSize: Int { config.vision.imageSize }

    /// BLIP's image processor, and the ids each objective reads: [CLS] text [SEP] for ITC and
    /// ITM (as `BLIPMatcher.tokenize`); [DEC] caption [SEP] for the captioner (BLIP replaces
    /// [CLS] by the decoder's start token, with which generation starts too), truncated to the
    /// positions the model has.
    public func inputs(checkpoint: Checkpoint) throws -> (preprocessor: ImagePreprocessor, tokenize: (String) throws -> [Int]) {
        let tokenizer = try WordPieceTokenizer.load(folder: checkpoint.folder)
        try checkpoint.requireTokenizerFits(vocabularySize: tokenizer.vocabularySize, embeddingRows: config.text.bert.vocabularySize,
                                            table: "word_embeddings")
        let length = config.text.bert.maxPositions, start = config.text.bosTokenId
        let captioning = isCaptioning
        return (try BLIPImageProcessor.load(folder: checkpoint.folder), { text in
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw GlimpseError.invalidArgument("the caption is empty")
            }
            var ids = try tokenizer.encode(text, maxLength: length, truncate: true)
            if captioning { ids[0] = start }
            return ids
        })
    }

    public func train(_ microBatches: [(pixels: Tensor, ids: [[Int]])], step: Int) throws -> Step {
        try self.step(microBatches: microBatches, step: step)
    }
}
