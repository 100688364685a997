import ArgumentParser
import Foundation
import Glimpse

/// `glimpse train`: fine-tuning, one subcommand per model family.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model on image–text pairs.",
        subcommands: [TrainCLIPCommand.self, TrainBLIPCommand.self, TrainShapesCommand.self]
    )
}

/// `glimpse train clip`: a thin front end to `CLIPFineTuning`.
struct TrainCLIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Fine-tune a CLIP model with its contrastive loss.",
        discussion: "Reads image–text pairs from JSON Lines / CSV / TSV manifests, folders or WebDataset shards, shuffles them with --seed each epoch, and trains with AdamW under a cosine schedule with warm-up. Writes metrics.jsonl (one object per step), loss.png, and the model in the Hugging Face layout (model.safetensors, config.json, tokenizer and preprocessor files) plus training_state.safetensors into --out; --resume DIR continues such a folder's run bit-identically. --freeze towers trains only the projections and the temperature."
    )

    @OptionGroup var options: ModelOptions
    @OptionGroup var training: TrainingOptions

    func validate() throws { try training.validate(options, minimumBatch: 2) }
    func run() throws { try training.run(CLIPTrainer.self, options, defaultWeightDecay: 0.1) }
}

/// `glimpse train blip`: a thin front end to `BLIPFineTuning`.
struct TrainBLIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blip",
        abstract: "Fine-tune a BLIP model: ITC + ITM for a retrieval model, the LM loss for a captioner.",
        discussion: "A BlipForImageTextRetrieval folder trains on BLIP's image–text contrastive loss (learned temperature, starting at 0.07) plus image–text matching with hard negatives drawn from the contrastive similarities (seeded by --seed and the step); a BlipForConditionalGeneration folder trains its captioner on the language-modelling loss with label smoothing 0.1. Data, schedule, outputs and --resume are as for train clip. --freeze towers trains only the projections and heads (ITM head, LM head)."
    )

    @OptionGroup var options: ModelOptions
    @OptionGroup var training: TrainingOptions

    func validate() throws { try training.validate(options, minimumBatch: 1) }
    func run() throws { try training.run(BLIPTrainer.self, options, defaultWeightDecay: 0.05) }
}

/// The options every `train` subcommand takes, and the run itself.
struct TrainingOptions: ParsableArguments {
    @Option(name: .long, parsing: .upToNextOption, help: "Training data: manifests (.jsonl, .csv, .tsv), folders or WebDataset shards (.tar).")
    var data: [String] = []

    @Option(help: "Output folder (created).")
    var out: String

    @Option(parsing: .unconditional, help: "Passes over the data.") var epochs = 1
    @Option(parsing: .unconditional, help: "Peak learning rate.") var lr: Float = 1e-5
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "AdamW's decoupled weight decay (matrices only; default 0.1 for CLIP, 0.05 for BLIP).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Linear warm-up steps before the cosine decay.") var warmup = 0
    @Option(name: .customLong("max-grad-norm"), parsing: .unconditional, help: "Clip the global gradient norm to this (0: no clipping).") var maxGradNorm: Float = 1
    @Option(help: "Parameters kept fixed: none, text, vision or towers (only the projections and heads train).")
    var freeze: String = "none"
    @Option(name: .customLong("train-only"), help: "'projections': the same as --freeze towers.") var trainOnly: String?
    @Option(parsing: .unconditional, help: "Seed of the data order (and of --random-crop and BLIP's hard negatives).") var seed: UInt64 = 0
    @Flag(name: .customLong("random-crop"), help: "Augment: crop each image at random (torchvision's RandomResizedCrop: 8-100 % of the area, aspect 3:4 to 4:3) before preprocessing.")
    var randomCrop = false
    @Option(parsing: .unconditional, help: "Batches per optimizer step (gradient accumulation): the step follows the mean of their gradients (a contrastive loss compares the pairs of each batch only).") var accumulate = 1
    @Option(name: .customLong("save-every"), parsing: .unconditional, help: "Also save the checkpoint every N steps.") var saveEvery: Int?
    @Option(help: "A folder an earlier run wrote (with training_state.safetensors): continue its run.") var resume: String?

    func validate(_ options: ModelOptions, minimumBatch: Int) throws {
        guard !data.isEmpty else { throw ValidationError("nothing to train on: give --data PATH...") }
        guard !out.isEmpty else { throw ValidationError("--out is empty: give an output folder") }
        guard options.precision == .fp32 else {
            throw ValidationError("--precision \(options.precision): training runs in fp32 (bf16 and int8 are for inference)")
        }
        guard options.batchSize >= minimumBatch else {
            throw ValidationError("--batch-size \(options.batchSize): the contrastive loss needs at least 2 pairs a batch (each pair's negatives are the others)")
        }
        try Check.range(epochs, "--epochs", 1 ... 1_000_000)
        try Check.range(warmup, "--warmup", 0 ... Int(Int32.max))
        try Check.range(accumulate, "--accumulate", 1 ... Limits.batchSize)
        try Check.range(saveEvery, "--save-every", 1 ... Int(Int32.max))
        guard lr.isFinite, lr >= 0, lr <= 1 else { throw ValidationError("--lr \(lr): expected a learning rate in 0...1") }
        if let weightDecay, !(weightDecay.isFinite && weightDecay >= 0 && weightDecay <= 1) {
            throw ValidationError("--weight-decay \(weightDecay): expected 0...1")
        }
        guard maxGradNorm.isFinite, maxGradNorm >= 0 else { throw ValidationError("--max-grad-norm \(maxGradNorm): expected a finite value ≥ 0") }
        guard FineTuningFreeze(rawValue: freeze) != nil else {
            throw ValidationError("--freeze '\(freeze)': expected one of \(FineTuningFreeze.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let trainOnly, trainOnly != "projections" { throw ValidationError("--train-only '\(trainOnly)': only 'projections' is known") }
        if trainOnly != nil, freeze != "none" { throw ValidationError("--train-only projections and --freeze \(freeze) contradict each other; give one") }
    }

    func run<Trainer: FineTunable>(_: Trainer.Type, _ options: ModelOptions, defaultWeightDecay: Float) throws {
        options.apply()
        let checkpoint = try options.checkpoint()
        var settings = FineTuningOptions()
        settings.epochs = epochs
        settings.batchSize = options.batchSize
        settings.learningRate = lr
        settings.weightDecay = weightDecay ?? defaultWeightDecay
        settings.warmupSteps = warmup
        settings.maxGradientNorm = maxGradNorm > 0 ? maxGradNorm : nil
        settings.freeze = trainOnly != nil ? .towers : FineTuningFreeze(rawValue: freeze) ?? .none
        settings.seed = seed
        settings.saveEvery = saveEvery
        settings.accumulate = accumulate
        settings.randomCrop = randomCrop ? RandomResizedCrop() : nil
        let stderr = FileHandle.standardError
        func say(_ line: String) { stderr.write(Data((line + "\n").utf8)) }
        var skipped = 0
        let report: (DatasetFailure) -> Void = { skipped += 1; say("glimpse: skipped \($0)") }
        let tuning = try FineTuning<Trainer>(model: checkpoint, data: data, output: out, options: settings,
                                             resume: try resume.map { try Checkpoint(folder: $0) }, onSkip: report)
        if !options.quiet {
            say("training on \(tuning.records.count) pairs: \(tuning.totalSteps) steps of \(settings.batchSize), \(tuning.trainer.trained.count) parameter tensors trained")
        }
        let started = Date(), firstStep = tuning.completedSteps
        try tuning.run(onSkip: report) { p in
            guard !options.quiet else { return }
            // ETA from this process's mean step time (a resumed run counts from where it began).
            let perStep = Date().timeIntervalSince(started) / Double(max(p.step - firstStep, 1))
            say(String(format: "step %d/%d  epoch %d  loss %.4f  lr %.3e  %.1f images/s  ETA %@", p.step, p.totalSteps, p.epoch + 1,
                       p.loss, p.learningRate, p.imagesPerSecond, Progress.duration(perStep * Double(p.totalSteps - p.step))))
        }
        if !options.quiet { say("saved \(out) (model.safetensors, config.json, metrics.jsonl, loss.png)") }
        if skipped > 0 { throw ExitCode(1) }
    }
}
