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

    @Option(help: "Beam search width (1: greedy). Unset options come from the checkpoint's generation_config.json, else transformers' defaults.")
    var beams: Int?

    @Option(help: "New tokens at most (default 20 when no --max-length).")
    var maxNewTokens: Int?

    @Option(help: "Total length at most, [DEC] and prompt included.")
    var maxLength: Int?

    @Option(help: "Total length at least, [DEC] and prompt included.")
    var minLength: Int?

    @Option(help: "Beam search length penalty (exponent of the length dividing the score).")
    var lengthPenalty: Float?

    @Option(help: "Forbid repeating n-grams of this size (0: off).")
    var noRepeatNgramSize: Int?

    @Option(help: "Repetition penalty (1: off).")
    var repetitionPenalty: Float?

    @Flag(help: "Sample instead of searching.")
    var sample = false

    @Option(help: "Nucleus sampling mass, in (0, 1].")
    var topP: Float?

    @Option(help: "Sample among the K most likely tokens (0: all).")
    var topK: Int?

    @Option(help: "Sampling temperature.")
    var temperature: Float?

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    @Option(help: "Captions per image (at most --beams without --sample).")
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
                               temperature: temperature ?? given.temperature, seed: seed)
        }
        return o
    }

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("no images: give one or more image files") }
        do { try generationOptions().validate() } catch let error as GlimpseError {
            throw ValidationError(error.description)
        }
        if !sample, topP != nil || topK != nil || temperature != nil {
            throw ValidationError("--top-p, --top-k and --temperature apply only with --sample")
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
