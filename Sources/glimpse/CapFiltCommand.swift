import ArgumentParser
import Foundation
import Glimpse

enum CapFiltKeep: String, ExpressibleByArgument, CaseIterable {
    case web, synthetic, both
}

extension CapFiltJob.Format: ExpressibleByArgument {}

struct CapFiltCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capfilt",
        abstract: "Caption and filter image-text pairs with BLIP (CapFilt): bootstrap a cleaner dataset.",
        discussion: """
        For each record of the dataset INPUTs the captioner writes --captions-per-image synthetic \
        captions by nucleus sampling (after "a picture of", as BLIP's captioner; the prompt is not \
        part of the caption), and the filter's ITM head judges the web text and every caption \
        against the image. Kept: texts judged a match (ITM argmax, as BLIP), or with --threshold P \
        those with ITM probability >= P; --keep limits which sources may be kept. Captions are \
        seeded by the image-text pair's content and --seed, so results do not depend on \
        --batch-size, --shard or the input's keys.

        Output in --out: capfilt/K.jsonl per committed chunk K (one object per image: key, source, \
        image_path, web_text, kept, candidates [{text, source web|synthetic, itm, itc, kept}], \
        metadata), or with --format wds the WebDataset shard capfilt/K.tar (SAMPLE.jpg|png original \
        bytes, SAMPLE.json the same object, SAMPLE.txt the kept texts); failed records in \
        errors.jsonl; totals in summary.json (with "capfilt": pairs in, web and synthetic kept %, \
        images/s). Killed at any point, the same command continues where it stopped. --stdout \
        streams the objects as JSON Lines instead.
        """
    )

    @Option(help: "BLIP captioning model (BlipForConditionalGeneration): folder or Hub id, e.g. Salesforce/blip-image-captioning-base.")
    var captioner: String

    @Option(help: "BLIP retrieval model (BlipForImageTextRetrieval) as the filter: folder or Hub id, e.g. Salesforce/blip-itm-base-coco.")
    var filter: String

    @OptionGroup var bulk: BulkOptions

    @Option(help: precisionHelp)
    var precision: Precision = .fp32

    @Option(parsing: .unconditional,
            help: "Synthetic captions per image, 0 (filter the web texts only) to \(Limits.beams).")
    var captionsPerImage: Int = 1

    @Option(parsing: .unconditional, help: "Nucleus sampling mass, in (0, 1].")
    var topP: Float = 0.9

    @Option(parsing: .unconditional, help: "Sample among the K most likely tokens (0: all).")
    var topK: Int = 50

    @Option(parsing: .unconditional, help: "Sampling temperature, above 0.")
    var temperature: Float = 1

    @Option(help: "Seed of the run: each caption's generator is seeded by it, the pair's content and the caption's index.")
    var seed: UInt64 = 0

    @Option(help: "Text every caption continues (BLIP's \"a picture of\"); removed from the caption.")
    var prompt: String = "a picture of"

    @Flag(help: "No prompt: captions start from [DEC] alone.")
    var noPrompt = false

    @Option(parsing: .unconditional, help: "Caption length at most, [DEC] and prompt included (BLIP: 30).")
    var maxLength: Int = 30

    @Option(parsing: .unconditional, help: "Caption length at least, [DEC] and prompt included (BLIP: 10).")
    var minLength: Int = 10

    @Option(parsing: .unconditional, help: "Repetition penalty while sampling, above 0 (BLIP: 1.1).")
    var repetitionPenalty: Float = 1.1

    @Option(parsing: .unconditional, help: "Keep texts whose ITM match probability is at least this, in [0, 1] (default: the ITM head's argmax).")
    var threshold: Float?

    @Option(help: "Which texts may be kept: web, synthetic or both.")
    var keep: CapFiltKeep = .both

    @Option(help: "Output chunks: jsonl, or wds (WebDataset tar shards).")
    var format: CapFiltJob.Format = .jsonl

    @Flag(help: "Caption records without a web text (or with an empty one) too, on synthetic captions alone; by default they are errors.")
    var textOptional = false

    @Flag(name: .shortAndLong, help: "No progress output on standard error.")
    var quiet = false

    @Option(parsing: .unconditional, help: "Images per batch (1 to \(Limits.batchSize)): each tower runs once per batch, captions for all its images are sampled together.")
    var batchSize: Int = 8

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads) (default: GLIMPSE_NUM_THREADS, else all cores).")
    var threads: Int?

    var options: CapFiltOptions {
        var o = CapFiltOptions()
        o.captionsPerImage = captionsPerImage
        o.prompt = noPrompt ? nil : prompt
        o.sampling = .init(topP: topP, topK: topK, temperature: temperature, seed: seed)
        o.maxLength = maxLength
        o.minLength = minLength
        o.repetitionPenalty = repetitionPenalty
        o.threshold = threshold
        o.keep = CapFiltOptions.Keep(rawValue: keep.rawValue) ?? .both
        return o
    }

    func validate() throws {
        guard !captioner.isEmpty, !filter.isEmpty else { throw ValidationError("--captioner and --filter must name a model folder or Hub id") }
        guard bulk.isBulk else { throw ValidationError("no dataset: give INPUT... (manifests, folders, tar shards) or --stdin") }
        if bulk.stdout, format == .wds { throw ValidationError("--format wds writes tar shards into --out; --stdout streams JSON Lines") }
        try Check.range(captionsPerImage, "--captions-per-image", 0 ... Limits.beams)
        try Check.range(batchSize, "--batch-size", 1 ... Limits.batchSize)
        try Check.range(threads, "--threads", 1 ... Limits.threads)
        try Check.range(maxLength, "--max-length", 1 ... Limits.newTokens)
        try Check.range(minLength, "--min-length", 0 ... Limits.newTokens)
        try Check.atLeast(topK, "--top-k", 0)
        try Check.positive(temperature, "--temperature")
        try Check.positive(repetitionPenalty, "--repetition-penalty")
        try Check.unit(threshold, "--threshold")
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        if !noPrompt { try Check.texts([prompt], "--prompt", "prompt") }
        do { try options.validate() } catch let error as GlimpseError { throw ValidationError(error.description) }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let capFilt = try CapFilt(captioner: BLIPCaptioner(model: captioner, precision: precision, progress: downloadProgress(quiet: quiet)),
                                  filter: BLIPMatcher(model: filter, precision: precision, progress: downloadProgress(quiet: quiet)), options: options)
        let job = CapFiltJob(capFilt: capFilt, format: format)
        let started = Date()
        try bulk.run(job, batchSize: batchSize, quiet: quiet, requireText: !textOptional)
        let result: (tally: CapFiltTally, seconds: Double)?
        if bulk.stdout {
            result = (job.counter.value, Date().timeIntervalSince(started))
        } else {
            result = try CapFiltJob.completeSummary(folder: bulk.out ?? "")
        }
        if let result, !quiet {
            FileHandle.standardError.write(Data("glimpse: capfilt: \(result.tally.line(seconds: result.seconds))\n".utf8))
        }
    }
}
