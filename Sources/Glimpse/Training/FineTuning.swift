import Foundation
import GlimpseCore
import GlimpseData
import GlimpseImage
import GlimpseText

/// Fine-tuning CLIP on image–text pairs with its contrastive loss.
public typealias CLIPFineTuning = FineTuning<CLIPTrainer>
/// Fine-tuning BLIP on image–text pairs: ITC + ITM for a retrieval checkpoint, LM for a
/// captioning one.
public typealias BLIPFineTuning = FineTuning<BLIPTrainer>

/// Which parameters stay fixed during fine-tuning.
public enum FineTuningFreeze: String, CaseIterable, Sendable {
    case none, text, vision
    /// Both towers: only the projections and heads (and a temperature) train.
    case towers
}

/// A trainer `FineTuning` can drive: how it is built for a run, what it reads, and one step.
public protocol FineTunable: ParameterTrainer {
    /// The `model_type` of the checkpoints it trains, and the command's name.
    static var family: String { get }
    /// Builds the trainer for a run of `checkpoint` (weights copied, parameters chosen).
    init(checkpoint: Checkpoint, options: FineTuningOptions, schedule: CosineSchedule) throws
    /// The fewest pairs a batch may hold.
    var minimumBatch: Int { get }
    /// The square input side of the image tower.
    var imageSize: Int { get }
    /// The model's preprocessor and a text-to-ids function for its objective.
    func inputs(checkpoint: Checkpoint) throws -> (preprocessor: ImagePreprocessor, tokenize: (String) throws -> [Int])
    /// One optimizer update from micro-batches of matching pairs at run step `step`.
    func train(_ microBatches: [(pixels: Tensor, ids: [[Int]])], step: Int) throws -> ParameterTrainer.Step
}

/// How a fine-tuning run trains (shared by every model family).
public struct FineTuningOptions: Sendable {
    public var epochs = 1
    public var batchSize = 32
    public var learningRate: Float = 1e-5
    public var weightDecay: Float = 0.1
    public var warmupSteps = 0
    public var maxGradientNorm: Float? = 1
    public var freeze = FineTuningFreeze.none
    public var seed: UInt64 = 0
    /// Batches of `batchSize` per optimizer step (gradient accumulation; for a contrastive
    /// loss each batch is a batch of its own, see `CLIPTrainer.step(microBatches:)`).
    public var accumulate = 1
    /// Write the checkpoint and training state every this many steps (and at the end).
    public var saveEvery: Int?
    /// Stop after this many steps of the whole run (the schedule still spans every epoch),
    /// as an interrupted run stops; `resume` continues it.
    public var stopAfterSteps: Int?
    /// Augmentation: each training image cropped by `RandomResizedCrop` before the model's
    /// preprocessor (off by default). The draw depends only on the seed, the step and the
    /// record's key, so a resumed run crops exactly as an uninterrupted one.
    public var randomCrop: RandomResizedCrop?
    public init() {}
}

/// Fine-tuning a checkpoint on image–text pairs (manifests, folders, WebDataset shards): the
/// records are indexed once, shuffled by a seeded permutation each epoch, cut into batches
/// (the last incomplete one dropped, as a contrastive batch needs its negatives), preprocessed
/// with the model's own preprocessor and tokenizer, and trained by the model's trainer under a
/// cosine schedule with warm-up. Every step appends to `metrics.jsonl`; the end (and every
/// `saveEvery` steps) writes the model in the Hugging Face layout plus the training state,
/// from which `resume` continues bit-identically; `loss.png` is drawn at the end.
public final class FineTuning<Trainer: FineTunable> {
    public typealias Options = FineTuningOptions
    public typealias Freeze = FineTuningFreeze

    /// What one step reports.
    public struct Progress: Sendable {
        public let step: Int, totalSteps: Int, epoch: Int
        public let loss: Float, learningRate: Float, gradientNorm: Float
        public let imagesPerSecond: Double
    }

    public let trainer: Trainer
    public let options: Options
    public let output: String
    public let totalSteps: Int
    /// Optimizer steps per epoch: whole groups of `accumulate` batches (the rest is dropped).
    public let stepsPerEpoch: Int
    /// Records read and trained on, and those the readers reported and skipped.
    public let records: [DatasetRecord]
    public let skipped: [DatasetFailure]
    private let source: Checkpoint
    private let tokenize: (String) throws -> [Int]
    private let preprocessor: ImagePreprocessor
    private var position: ParameterTrainer.Position

    /// Prepares a run of `model` on `data` into `output`; with `resume`, a folder this class
    /// wrote (model plus training state) replaces the model and the run continues from it.
    public init(model: Checkpoint, data: [String], output: String, options: Options = Options(),
                resume: Checkpoint? = nil, onSkip: (DatasetFailure) -> Void = { _ in }) throws {
        let start = resume ?? model
        let type = try start.modelType()
        guard type == Trainer.family else {
            throw GlimpseError.invalidArgument("train \(Trainer.family) takes a \(Trainer.family.uppercased()) model; \(start.folder.path) holds a '\(type)' model")
        }
        guard options.batchSize >= 1, options.batchSize <= Limits.batchSize else {
            throw GlimpseError.invalidArgument("--batch-size \(options.batchSize): expected 1 ... \(Limits.batchSize)")
        }
        guard options.epochs >= 1, options.warmupSteps >= 0, options.learningRate.isFinite, options.learningRate >= 0,
              options.weightDecay.isFinite, options.weightDecay >= 0, (options.maxGradientNorm ?? 1) > 0,
              (options.saveEvery ?? 1) >= 1, (options.stopAfterSteps ?? 0) >= 0,
              options.accumulate >= 1, options.accumulate <= Limits.batchSize else {
            throw GlimpseError.invalidArgument("training options: epochs ≥ 1, warm-up ≥ 0, learning rate and weight decay finite and ≥ 0, max gradient norm and save interval > 0 expected")
        }
        var records: [DatasetRecord] = [], skipped: [DatasetFailure] = []
        // Images of uncompressed shards are kept as offsets and read per batch: the index holds
        // every record of the run, not every image.
        var dataset = try Dataset(paths: data)
        dataset.imagesByReference = true
        for item in dataset {
            switch item {
            case .success(let record) where record.text != nil: records.append(record)
            case .success(let record): let failure = DatasetFailure(key: record.key, source: record.source, reason: "has no caption to train on"); skipped.append(failure); onSkip(failure)
            case .failure(let failure): skipped.append(failure); onSkip(failure)
            }
            guard records.count <= Limits.trainingRecords else {
                throw GlimpseError.invalidArgument("training data holds more than \(Limits.trainingRecords) records")
            }
        }
        self.records = records
        self.skipped = skipped
        stepsPerEpoch = records.count / (options.batchSize * options.accumulate)
        guard stepsPerEpoch >= 1 else {
            throw GlimpseError.invalidArgument("training data has \(records.count) usable pairs, fewer than one batch of \(options.batchSize)\(options.accumulate > 1 ? " × \(options.accumulate) accumulated" : "")")
        }
        let (steps, overflow) = stepsPerEpoch.multipliedReportingOverflow(by: options.epochs)
        guard !overflow, options.warmupSteps <= steps else {
            throw GlimpseError.invalidArgument("--warmup \(options.warmupSteps) is more than the run's \(steps) steps")
        }
        totalSteps = steps
        self.options = options
        self.output = output
        source = start
        trainer = try Trainer(checkpoint: start, options: options,
                              schedule: CosineSchedule(peak: options.learningRate, warmupSteps: options.warmupSteps, totalSteps: steps))
        guard options.batchSize >= trainer.minimumBatch else {
            throw GlimpseError.invalidArgument("--batch-size \(options.batchSize): this model's loss needs at least \(trainer.minimumBatch) pairs a batch (the other pairs are each pair's negatives)")
        }
        (preprocessor, tokenize) = try trainer.inputs(checkpoint: start)
        try preprocessor.validate(forModelInput: trainer.imageSize, trainer.imageSize)
        position = ParameterTrainer.Position(steps: 0, seed: options.seed)
        if let resume {
            position = try trainer.restoreState(from: resume.folder.path)
            guard position.seed == options.seed else {
                throw GlimpseError.invalidArgument("--resume: the run was started with --seed \(position.seed), not \(options.seed); the data order would differ")
            }
        }
    }

    /// Batches consumed so far.
    public var completedSteps: Int { position.steps }

    /// The record order of `epoch`: a Fisher–Yates permutation drawn from (seed, epoch).
    public func order(epoch: Int) -> [Int] {
        var generator = SplitMix64(seed: options.seed &+ 0x5851_F42D_4C95_7F2D &* UInt64(epoch + 1))
        var order = Array(records.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(generator.next() % UInt64(i + 1)))
        }
        return order
    }

    /// Trains to the end (or `stopAfterSteps`), then saves. Returns the last step's loss.
    @discardableResult
    public func run(onSkip: (DatasetFailure) -> Void = { _ in }, progress: (Progress) -> Void = { _ in }) throws -> Float? {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let metrics = MetricsLog(path: (output as NSString).appendingPathComponent("metrics.jsonl"), append: position.steps > 0)
        try metrics.open()
        defer { metrics.close() }
        let end = min(totalSteps, options.stopAfterSteps ?? totalSteps)
        var epochOrder: (epoch: Int, order: [Int])?
        var lastLoss: Float?
        var curve: [(step: Int, value: Double)] = []
        while position.steps < end {
            let epoch = position.steps / stepsPerEpoch, index = position.steps % stepsPerEpoch
            let shuffled = epochOrder?.epoch == epoch ? epochOrder?.order ?? [] : order(epoch: epoch)
            epochOrder = (epoch, shuffled)
            let started = Date()
            var microBatches: [(pixels: Tensor, ids: [[Int]])] = []
            for part in 0 ..< options.accumulate {
                let first = (index * options.accumulate + part) * options.batchSize
                let batch = try inputs(shuffled[first ..< first + options.batchSize].map { records[$0] }, step: position.steps,
                                       onSkip: onSkip)
                if batch.ids.count >= trainer.minimumBatch { microBatches.append(batch) }
            }
            position.steps += 1
            guard !microBatches.isEmpty else { continue }
            let step = try trainer.train(microBatches, step: position.steps - 1)
            let images = microBatches.reduce(0) { $0 + $1.ids.count }
            let rate = Double(images) / max(Date().timeIntervalSince(started), 1e-9)
            lastLoss = step.loss
            curve.append((position.steps, Double(step.loss)))
            try metrics.append(step: position.steps, epoch: epoch, loss: step.loss, learningRate: step.learningRate,
                               gradientNorm: step.gradientNorm, imagesPerSecond: rate)
            progress(Progress(step: position.steps, totalSteps: totalSteps, epoch: epoch, loss: step.loss,
                              learningRate: step.learningRate, gradientNorm: step.gradientNorm, imagesPerSecond: rate))
            if let every = options.saveEvery, position.steps % every == 0, position.steps < end { try save() }
        }
        try save()
        if !curve.isEmpty { try LossCurve().write(curve, to: (output as NSString).appendingPathComponent("loss.png")) }
        return lastLoss
    }

    /// Writes the model folder and the training state into the output folder.
    public func save() throws {
        try trainer.saveModel(to: output, source: source)
        try trainer.saveState(to: output, position: position)
    }

    /// The crop draw of one record at one step: FNV-1a of the key (Swift's `hashValue` differs
    /// between processes), mixed with the seed and the step.
    static func cropSeed(_ seed: UInt64, step: Int, key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash ^ (seed &* 0x9e37_79b9_7f4a_7c15) ^ (UInt64(step) &* 0xbf58_476d_1ce4_e5b9)
    }

    /// Pixels and token ids of a batch; a record whose image cannot be decoded or whose
    /// caption cannot be tokenized is reported and left out.
    private func inputs(_ batch: [DatasetRecord], step: Int, onSkip: (DatasetFailure) -> Void) throws -> (pixels: Tensor, ids: [[Int]]) {
        var images: [RGBImage] = [], ids: [[Int]] = []
        for record in batch {
            do {
                var image = try ImagePrefetcher.decode(record.image)
                let tokens = try tokenize(record.text ?? "")
                if let crop = options.randomCrop {
                    var random = SplitMix64(seed: Self.cropSeed(options.seed, step: step, key: record.key))
                    image = crop.apply(image, using: &random)
                }
                images.append(image)
                ids.append(tokens)
            } catch {
                onSkip(DatasetFailure(key: record.key, source: record.source, reason: "\(error)"))
            }
        }
        guard images.count >= trainer.minimumBatch, !images.isEmpty else { return (Tensor(zeros: [0]), ids) }
        let side = trainer.imageSize
        return (try PixelBatch(images: images, preprocessor: preprocessor, size: side).pixels, ids)
    }
}
