import Foundation
import Glimpse

/// `glimpse bench` on a BLIP captioning folder: caption latency per image (preprocessing
/// excluded, vision encoder included) for greedy and beam-3 decoding of exactly
/// `newTokens` tokens (EOS suppressed until then, so both sides do the same work).
/// Tools/bench/bench_blip_reference.py times transformers the same way.
struct BLIPBench {
    let options: ModelOptions
    let repeats: Int
    let newTokens = 20

    func run(time: (() throws -> Void) throws -> Double) throws {
        let start = Date()
        let model = try BLIPCaptioningModel(checkpoint: options.checkpoint())
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
}
