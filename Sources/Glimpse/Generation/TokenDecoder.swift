import Foundation
import GlimpseCore

/// The state a decoder keeps between steps for a batch of sequences ("slots"): whatever the
/// model caches (BERT's past keys and values), reordered as the search keeps, copies and
/// drops sequences. A reference type: each step appends to it in place.
public protocol DecoderCache: AnyObject {
    /// Keeps slot `sources[i]` as the new slot i (a source may appear several times).
    func reorder(_ sources: [Int])
}

/// What the search algorithms need from a model: a cache per batch of sequences, and the
/// next-token logits [slots, vocabulary] after appending tokens to every slot.
public protocol TokenDecoder {
    associatedtype Cache: DecoderCache
    var vocabularySize: Int { get }
    var maxPositions: Int { get }
    /// A cache whose slot i decodes for input (image) `inputOf[i]`.
    func makeCache(inputOf: [Int], capacity: Int) -> Cache
    func step(_ tokens: [[Int]], cache: Cache) throws -> Tensor
}

/// Entry point: greedy, beam search or sampling, chosen by the options.
public enum Generator {
    /// Generates `options.numReturnSequences` sequences for each of `inputs` inputs, every one
    /// starting from `prompt` (e.g. [DEC] or [DEC] a picture of) and stopping at `eos`.
    /// With sampling, `seeds[input][k]` (when given) seeds sequence k of each input on its own,
    /// so what it draws is independent of the batch it runs in.
    public static func generate<Decoder: TokenDecoder>(_ decoder: Decoder, inputs: Int, prompt: [Int], eos: Int,
                                options: GenerationOptions, seeds: [[UInt64]]? = nil) throws -> [[GeneratedSequence]] {
        try options.validate()
        guard !prompt.isEmpty else { throw GlimpseError.invalidArgument("generation needs at least one start token") }
        guard (0 ..< decoder.vocabularySize).contains(eos) else {
            throw GlimpseError.invalidArgument("end token \(eos) is outside the vocabulary")
        }
        guard inputs > 0 else { return [] }
        let limits = try options.limits(promptLength: prompt.count, maxPositions: decoder.maxPositions)
        let processors = LogitsProcessors(options: options, eos: eos, promptLength: prompt.count, minLength: limits.min)
        if options.numBeams > 1 {
            return try BeamSearch(decoder: decoder, options: options, processors: processors, eos: eos,
                                  maxLength: limits.max).run(inputs: inputs, prompt: prompt)
        }
        if let seeds {
            guard options.sampling != nil else { throw GlimpseError.invalidArgument("per-sequence seeds apply only to sampling") }
            guard seeds.count == inputs, seeds.allSatisfy({ $0.count == options.numReturnSequences }) else {
                throw GlimpseError.invalidArgument("sampling seeds must be \(options.numReturnSequences) for each of \(inputs) inputs")
            }
        }
        return try GreedySearch(decoder: decoder, options: options, processors: processors, eos: eos,
                                maxLength: limits.max, slotSeeds: seeds?.flatMap { $0 }).run(inputs: inputs, prompt: prompt)
    }
}

/// Length-normalised score: sum of log-probabilities / (new tokens)^length_penalty.
func normalisedScore(_ sum: Float, newTokens: Int, lengthPenalty: Float) -> Float {
    sum / Float(pow(Double(newTokens), Double(lengthPenalty)))
}
