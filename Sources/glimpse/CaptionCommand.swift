import ArgumentParser
import Foundation
import Glimpse

struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption images with a BLIP captioning model.",
        discussion: """
        One object per image: {"image": ..., "captions": [{"text": ..., "ids": [...], "score": ...}]}. \
        Greedy by default; --beams N for beam search; --sample for nucleus/top-k sampling (seeded: \
        reproducible, but not torch's random stream). Lengths follow transformers: --max-length and \
        --min-length count [DEC] and the prompt, --max-new-tokens only new tokens (default 20). \
        With --prompt the caption continues the prompt, which stays in the text and ids.
        """
    )

    @OptionGroup var options: ModelOptions

    @Argument(help: "Image files.")
    var images: [String] = []

    @Option(help: "Text the caption starts with, e.g. \"a picture of\".")
    var prompt: String?

    @Option(parsing: .unconditional, help: "Beam search width, 1 (greedy) to \(Limits.beams). Unset options come from the checkpoint's generation_config.json, else transformers' defaults.")
    var beams: Int?

    @Option(parsing: .unconditional, help: "New tokens at most, 1 to \(Limits.newTokens) (default 20 when no --max-length).")
    var maxNewTokens: Int?

    @Option(parsing: .unconditional, help: "Total length at most, [DEC] and prompt included (1 to \(Limits.newTokens)).")
    var maxLength: Int?

    @Option(parsing: .unconditional, help: "Total length at least, [DEC] and prompt included.")
    var minLength: Int?

    @Option(parsing: .unconditional, help: "Beam search length penalty (exponent of the length dividing the score).")
    var lengthPenalty: Float?

    @Option(parsing: .unconditional, help: "Forbid repeating n-grams of this size (0: off).")
    var noRepeatNgramSize: Int?

    @Option(parsing: .unconditional, help: "Repetition penalty, above 0 (1: off).")
    var repetitionPenalty: Float?

    @Flag(help: "Sample instead of searching.")
    var sample = false

    @Option(parsing: .unconditional, help: "Nucleus sampling mass, in (0, 1].")
    var topP: Float?

    @Option(parsing: .unconditional, help: "Sample among the K most likely tokens (0: all).")
    var topK: Int?

    @Option(parsing: .unconditional, help: "Sampling temperature, above 0.")
    var temperature: Float?

    @Option(help: "Sampling seed (default 0).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Captions per image, 1 to \(Limits.beams) (at most --beams without --sample).")
    var numCaptions: Int?

    /// The options given on the command line over `base` (the checkpoint's defaults).
    func generationOptions(over base: GenerationOptions = .init()) -> GenerationOptions {
        var o = base
        if let beams { o.numBeams = beams }
        if maxNewTokens != nil || maxLength != nil { (o.maxNewTokens, o.maxLength) = (maxNewTokens, maxLength) }
        if let minLength { (o.minLength, o.minNewTokens) = (minLength, nil) }
        if let lengthPenalty { o.lengthPenalty = lengthPenalty }
        if let noRepeatNgramSize { o.noRepeatNgramSize = noRepeatNgramSize }
        if let repetitionPenalty { o.repetitionPenalty = repetitionPenalty }
        if let numCaptions { o.numReturnSequences = numCaptions }
        if sample {
            let given = o.sampling ?? .init()
            o.sampling = .init(topP: topP ?? given.topP, topK: topK ?? given.topK,
                               temperature: temperature ?? given.temperature, seed: seed ?? 0)
        }
        return o
    }

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("no images: give one or more image files") }
        try Check.range(beams, "--beams", 1 ... Limits.beams)
        try Check.range(maxNewTokens, "--max-new-tokens", 1 ... Limits.newTokens)
        try Check.range(maxLength, "--max-length", 1 ... Limits.newTokens)
        try Check.range(minLength, "--min-length", 0 ... Limits.newTokens)
        try Check.range(noRepeatNgramSize, "--no-repeat-ngram-size", 0 ... Limits.newTokens)
        try Check.range(numCaptions, "--num-captions", 1 ... Limits.beams)
        try Check.finite(lengthPenalty, "--length-penalty")
        try Check.positive(repetitionPenalty, "--repetition-penalty")
        try Check.positive(temperature, "--temperature")
        try Check.atLeast(topK, "--top-k", 0)
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        if let prompt { try Check.texts([prompt], "--prompt", "prompt") }
        if !sample, topP != nil || topK != nil || temperature != nil || seed != nil {
            throw ValidationError("--top-p, --top-k, --temperature and --seed apply only with --sample")
        }
        if sample, let beams, beams > 1 {
            throw ValidationError("--sample draws one sequence at a time; it cannot be combined with --beams \(beams)")
        }
        do { try generationOptions().validate() } catch let error as GlimpseError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        options.apply()
        let captioner = try options.open(BLIPCaptioner.self)
        let settings = generationOptions(over: captioner.generationDefaults)
        try settings.validate()
        var report = InputReport(Output(format: options.format, columns: ["image", "text", "score", "ids"]), failFast: options.failFast)
        let progress = Progress(total: images.count, unit: "images", quiet: options.quiet, minimum: 2)
        for batch in images.chunked(options.batchSize) {
            let captions = try captioner.captionEach(imageFiles: batch, prompt: prompt, options: settings)
            for (path, result) in zip(batch, captions) {
                guard let list = try report.value(result, name: path) else { continue }
                report.output.emit([("image", .string(path)), ("captions", .array(list.map { caption in
                    .object([("text", .string(caption.text)), ("ids", .array(caption.ids.map { .int($0) })),
                             ("score", .float(caption.score))])
                }))])
            }
            progress.advance(batch.count)
        }
        progress.finish()
        try report.finish()
    }
}
