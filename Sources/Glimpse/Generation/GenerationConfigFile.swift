import Foundation
import GlimpseCore

extension GenerationOptions {
    /// A checkpoint's `generation_config.json` over transformers' built-in defaults, as
    /// `generate()` uses it when called without arguments; the defaults alone when the folder
    /// has no such file. Keys Glimpse does not use are ignored; used keys of the wrong type are
    /// errors naming the file.
    public init(checkpoint: Checkpoint) throws {
        self.init()
        guard checkpoint.exists("generation_config.json") else { return }
        let file = try ConfigReader(contentsOf: checkpoint.file("generation_config.json"), what: "generation_config.json")
        maxLength = try file.optionalInt("max_length")
        maxNewTokens = try file.optionalInt("max_new_tokens")
        minLength = try file.int("min_length", default: 0)
        minNewTokens = try file.optionalInt("min_new_tokens")
        numBeams = try file.int("num_beams", default: 1)
        lengthPenalty = Float(try file.double("length_penalty", default: 1))
        noRepeatNgramSize = try file.int("no_repeat_ngram_size", default: 0)
        repetitionPenalty = Float(try file.double("repetition_penalty", default: 1))
        numReturnSequences = try file.int("num_return_sequences", default: 1)
        if file.contains("early_stopping") {
            if let never = file.values["early_stopping"] as? String, never == "never" { earlyStopping = .never }
            else { earlyStopping = try file.bool("early_stopping", default: false) ? .always : .heuristic }
        }
        if try file.bool("do_sample", default: false) {
            sampling = Sampling(topP: Float(try file.double("top_p", default: 1)), topK: try file.int("top_k", default: 50),
                                temperature: Float(try file.double("temperature", default: 1)))
        }
    }
}
