import Foundation
import GlimpseCore

extension GenerationOptions {
    /// A checkpoint's `generation_config.json` over transformers' built-in defaults, as
    /// `generate()` uses it when called without arguments; the defaults alone when the folder
    /// has no such file. Keys Glimpse does not use are ignored; used keys of the wrong type or
    /// out of range (beams and returned sequences up to `Limits.beams`, lengths up to
    /// `Limits.newTokens`) are errors naming the file and key.
    public init(checkpoint: Checkpoint) throws {
        self.init()
        guard checkpoint.exists("generation_config.json") else { return }
        let url = checkpoint.file("generation_config.json")
        try InputFile.check(url.path, what: "generation_config.json", limit: Limits.configFileBytes)
        let file = try ConfigReader(contentsOf: url, what: "generation_config.json")
        func int(_ key: String, _ bounds: ClosedRange<Int>, default fallback: Int? = nil) throws -> Int? {
            guard file.contains(key) else { return fallback }
            let value = try file.int(key)
            guard bounds.contains(value) else {
                throw GlimpseError.invalidConfig("\(file.context): '\(key)' must be from \(bounds.lowerBound) to \(bounds.upperBound), found \(value)")
            }
            return value
        }
        func number(_ key: String, _ valid: (Double) -> Bool, _ expectation: String, default fallback: Double) throws -> Float {
            let value = try file.double(key, default: fallback)
            guard value.isFinite, valid(value) else {
                throw GlimpseError.invalidConfig("\(file.context): '\(key)' must be \(expectation), found \(value)")
            }
            return Float(value)
        }
        let lengths = 0 ... Limits.newTokens
        maxLength = try int("max_length", 1 ... Limits.newTokens)
        maxNewTokens = try int("max_new_tokens", 1 ... Limits.newTokens)
        minLength = try int("min_length", lengths, default: 0) ?? 0
        minNewTokens = try int("min_new_tokens", lengths)
        numBeams = try int("num_beams", 1 ... Limits.beams, default: 1) ?? 1
        lengthPenalty = try number("length_penalty", { abs($0) <= 1e6 }, "a finite number", default: 1)
        noRepeatNgramSize = try int("no_repeat_ngram_size", lengths, default: 0) ?? 0
        repetitionPenalty = try number("repetition_penalty", { $0 > 0 && $0 <= 1e6 }, "a positive number", default: 1)
        numReturnSequences = try int("num_return_sequences", 1 ... Limits.beams, default: 1) ?? 1
        if file.contains("early_stopping") {
            if let never = file.values["early_stopping"] as? String, never == "never" { earlyStopping = .never }
            else { earlyStopping = try file.bool("early_stopping", default: false) ? .always : .heuristic }
        }
        if try file.bool("do_sample", default: false) {
            sampling = Sampling(topP: try number("top_p", { $0 > 0 && $0 <= 1 }, "in (0, 1]", default: 1),
                                topK: try file.int("top_k", default: 50, min: 0),
                                temperature: try number("temperature", { $0 > 0 && $0 <= 1e6 }, "a positive number", default: 1))
        }
    }
}
