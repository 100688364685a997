import Foundation
import Glimpse

/// `glimpse bench` on a BLIP captioning folder: caption latency per image (preprocessing
/// excluded, vision encoder included) for greedy and beam-3 decoding of exactly
/// `newTokens` tokens (EOS suppressed until then, so both sides do the same work).
/// Tools/bench/bench_blip_reference.py times transformers the same way.
struct BLIPBench {
    let options: ModelOptions
    let checkpoint: Checkpoint
    let repeats: Int
    let newTokens = 20

    func run(time: (() throws -> Void) throws -> Double) throws {
        if try checkpoint.config().contains("architectures"),
           try BLIPConfig(reader: checkpoint.config()).architecture == "BlipForImageTextRetrieval" {
            return try runMatching(checkpoint, time: time)
        }
        let start = Date()
        let model = try BLIPCaptioningModel(checkpoint: checkpoint)
        var output = Output(format: options.format, columns: ["task", "batch", "threads", "median_ms", "per_second"])
        func emit(_ task: String, _ ms: Double?) {
            output.emit([("task", .string(task)), ("batch", .int(1)), ("threads", .int(Parallel.threadCount)),
                         ("median_ms", ms.map { .float(Float($0)) } ?? .null),
                         ("per_second", ms.map { .float(Float(1000 / $0)) } ?? .null)])
        }
        emit("load", Date().timeIntervalSince(start) * 1000)
        let size = model.config.vision.imageSize
        var generator = SplitMix64(seed: 1)
        let pixels = Tensor(shape: [1, 3, size, size], values: (0 ..< 3 * size * size).map { _ in generator.uniform(-1, 1) })
        for beams in [1, 3] {
            var settings = GenerationOptions()
            settings.numBeams = beams
            settings.maxNewTokens = newTokens
            settings.minNewTokens = newTokens
            emit(beams == 1 ? "caption_greedy" : "caption_beam3", try time { _ = try model.generate(pixels: pixels, options: settings) })
        }
        output.finish()
    }

    /// ITM pairs/s: one image (encoded once) against 32 captions, as `glimpse match` runs it.
    func runMatching(_ checkpoint: Checkpoint, time: (() throws -> Void) throws -> Double) throws {
        let start = Date()
        let matcher = try BLIPMatcher(checkpoint: checkpoint)
        var output = Output(format: options.format, columns: ["task", "batch", "threads", "median_ms", "per_second"])
        output.emit([("task", .string("load")), ("batch", .int(1)), ("threads", .int(Parallel.threadCount)),
                     ("median_ms", .float(Float(Date().timeIntervalSince(start) * 1000))), ("per_second", .null)])
        var generator = SplitMix64(seed: 1)
        let image = RGBImage(width: 640, height: 480, pixels: (0 ..< 640 * 480 * 3).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        let words = ["cat", "dog", "car", "tree", "house", "bird", "boat", "person"]
        let texts = (0 ..< 32).map { "a photo of a \(words[$0 % words.count]) sitting on a table" }
        let ms = try time { _ = try matcher.match(images: [image], texts: texts, itm: true, itc: false) }
        output.emit([("task", .string("itm_pairs")), ("batch", .int(texts.count)), ("threads", .int(Parallel.threadCount)),
                     ("median_ms", .float(Float(ms))), ("per_second", .float(Float(Double(texts.count) * 1000 / ms)))])
        output.finish()
    }
}
