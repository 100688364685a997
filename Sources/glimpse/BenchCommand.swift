import ArgumentParser
import Foundation
import Glimpse

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time CLIP image and text encoding.",
        discussion: """
        Image encoding runs on random pixel values (preprocessing excluded), text encoding on \
        prompts "a photo of a {label}." over --labels-file (or a built-in list), already \
        tokenized. "prompts" tokenizes and encodes every label's prompt in one call (batch = \
        the number of labels), "short_text" one short text end to end. Prints one object per \
        measurement with the median over --repeats runs after one warm-up. \
        Tools/bench/run_all.py runs this and the Python reference side by side.
        """
    )

    @OptionGroup var options: ModelOptions

    @Option(name: .long, parsing: .upToNextOption, help: "Batch sizes to time (each 1 to \(Limits.batchSize)).")
    var batch: [Int] = [1, 32]

    @Option(parsing: .unconditional, help: "Timed repetitions per measurement, 1 to \(Limits.repeats) (median reported).")
    var repeats: Int = 5

    @Option(help: "Labels for text prompts: one per line, or JSON (array, or object of index → label).")
    var labelsFile: String?

    @Option(help: "Also report where the time goes (GEMM, attention, norms, activations, preprocessing, decode) when encoding this image file end to end.")
    var profile: String?

    @Flag(help: "Only image encoding.")
    var imagesOnly = false

    @Flag(help: "Only text encoding.")
    var textsOnly = false

    func validate() throws {
        try Check.range(repeats, "--repeats", 1 ... Limits.repeats)
        guard !batch.isEmpty else { throw ValidationError("--batch needs at least one batch size") }
        try Check.range(batch, "--batch", 1 ... Limits.batchSize)
        if imagesOnly, textsOnly {
            throw ValidationError("--images-only and --texts-only exclude each other: give one, or neither to time both")
        }
        if textsOnly, profile != nil {
            throw ValidationError("--profile times image encoding; it cannot be combined with --texts-only")
        }
    }

    func run() throws {
        options.apply()
        let checkpoint = try options.checkpoint()
        if try checkpoint.modelType() == "blip" {
            return try BLIPBench(options: options, checkpoint: checkpoint, repeats: repeats).run(time: time)
        }
        let loadStart = Date()
        let clip = try CLIP(checkpoint: checkpoint)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        var output = Output(format: options.format, columns: ["task", "op", "batch", "threads", "median_ms", "per_second", "percent"])
        output.emit([("task", .string("load")), ("batch", .int(0)), ("threads", .int(Parallel.threadCount)),
                     ("median_ms", .float(Float(loadSeconds * 1000))), ("per_second", .null)])
        var labels = ["cat", "dog", "car", "tree", "house", "bird", "boat", "person"]
        if let labelsFile {
            labels = try LabelFile.read(labelsFile)
        }
        let vision = clip.model.image
        for b in batch {
            if !textsOnly {
                var generator = SplitMix64(seed: UInt64(b))
                let pixels = Tensor(shape: [b, vision.channels, vision.imageSize, vision.imageSize],
                                    values: (0 ..< b * vision.channels * vision.imageSize * vision.imageSize).map { _ in generator.uniform(-1, 1) })
                let ms = try time { _ = try clip.model.imageFeatures(pixels: pixels) }
                output.emit(result("image", b, ms))
            }
            if !imagesOnly {
                let prompts = (0 ..< b).map { "a photo of a \(labels[$0 % labels.count])." }
                let ids = try prompts.map { try clip.tokenize($0, truncate: true) }
                let ms = try time { _ = try clip.model.textFeatures(ids: ids) }
                output.emit(result("text", b, ms))
            }
        }
        if !imagesOnly {
            let prompts = labels.map { "a photo of a \($0)." }
            output.emit(result("prompts", prompts.count, try time { _ = try clip.embed(texts: prompts, truncate: true) }))
            output.emit(result("short_text", 1, try time { _ = try clip.embed(texts: ["a photo of a cat"]) }))
        }
        if let profile {
            try clip.embed(imageFiles: [profile])  // warm-up
            Profiler.setEnabled(true)
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0 ..< repeats { _ = try clip.embed(imageFiles: [profile]) }
            let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(repeats)
            let split = Profiler.totals()
            Profiler.setEnabled(false)
            let accounted = split.values.reduce(0, +) * 1000 / Double(repeats)
            let rows = OpClass.allCases.map { ($0.rawValue, (split[$0] ?? 0) * 1000 / Double(repeats)) }
            for (op, ms) in rows + [("other", total - accounted)] {
                output.emit([("task", .string("profile")), ("op", .string(op)), ("batch", .int(1)),
                             ("threads", .int(Parallel.threadCount)), ("median_ms", .float(Float(ms))),
                             ("percent", .float(Float(ms / total * 100)))])
            }
        }
        output.finish()
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        try body()  // warm-up: page in weights, size the pools
        var samples: [Double] = []
        for _ in 0 ..< repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return samples.sorted()[samples.count / 2]
    }

    private func result(_ task: String, _ batch: Int, _ ms: Double) -> [(String, JSON)] {
        [("task", .string(task)), ("batch", .int(batch)), ("threads", .int(Parallel.threadCount)),
         ("median_ms", .float(Float(ms))), ("per_second", .float(Float(Double(batch) / ms * 1000)))]
    }
}
