import GlimpseCore

/// Decoding settings, named and defaulted as in transformers' `GenerationConfig`.
///
/// Lengths follow transformers: `maxLength`/`minLength` count the whole sequence the decoder
/// sees ([DEC], any prompt, generated tokens); `maxNewTokens`/`minNewTokens` count generated
/// tokens only and win when both are given. With neither maximum, 20 new tokens (capped by
/// the model's positions), as transformers' default.
public struct GenerationOptions: Sendable, Equatable {
    public enum EarlyStopping: Sendable, Equatable {
        /// transformers' `early_stopping=False`: stop when no running beam can beat the
        /// finished ones, judged at the current length.
        case heuristic
        /// `True`: stop as soon as `numBeams` hypotheses are finished.
        case always
        /// `"never"`: the canonical rule, judged at the best reachable length.
        case never
    }

    /// Nucleus / top-k sampling. Sampled ids follow Glimpse's own seeded generator and cannot
    /// reproduce torch's RNG; only the distribution they are drawn from matches.
    public struct Sampling: Sendable, Equatable {
        public var topP: Float = 1
        public var topK: Int = 50
        public var temperature: Float = 1
        public var seed: UInt64 = 0
        public init(topP: Float = 1, topK: Int = 50, temperature: Float = 1, seed: UInt64 = 0) {
            self.topP = topP; self.topK = topK; self.temperature = temperature; self.seed = seed
        }
    }

    public var maxLength: Int?
    public var maxNewTokens: Int?
    public var minLength = 0
    public var minNewTokens: Int?
    public var numBeams = 1
    public var lengthPenalty: Float = 1
    public var earlyStopping = EarlyStopping.heuristic
    public var noRepeatNgramSize = 0
    public var repetitionPenalty: Float = 1
    /// Sequences returned per input: the best finished beams, or independent samples.
    public var numReturnSequences = 1
    /// nil: greedy or beam search; set: sampling (with numBeams 1).
    public var sampling: Sampling?

    public init() {}

    /// Checks each setting against its range (the `Limits` bound on beams, returned sequences
    /// and lengths, so no setting can size an impossible allocation) and the settings against
    /// each other.
    public func validate() throws {
        func bad(_ message: String) -> GlimpseError { .invalidArgument(message) }
        func within(_ value: Int?, _ name: String, _ bounds: ClosedRange<Int>) throws {
            guard let value, !bounds.contains(value) else { return }
            let bound = value < bounds.lowerBound ? "at least \(bounds.lowerBound)" : "at most \(bounds.upperBound)"
            throw bad("\(name) must be \(bound), got \(value)")
        }
        try within(numBeams, "number of beams", 1 ... Limits.beams)
        try within(maxNewTokens, "max new tokens", 1 ... Limits.newTokens)
        try within(maxLength, "max length", 1 ... Limits.newTokens)
        try within(minLength, "min length", 0 ... Limits.newTokens)
        try within(minNewTokens, "min new tokens", 0 ... Limits.newTokens)
        try within(noRepeatNgramSize, "no-repeat n-gram size", 0 ... Limits.newTokens)
        try within(numReturnSequences, "number of returned sequences", 1 ... (sampling == nil ? Limits.beams : Limits.sampledSequences))
        if let maxLength, maxLength < minLength {
            throw bad("max length \(maxLength) is smaller than min length \(minLength)")
        }
        if let maxNewTokens, let minNewTokens, maxNewTokens < minNewTokens {
            throw bad("max new tokens \(maxNewTokens) is smaller than min new tokens \(minNewTokens)")
        }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else { throw bad("repetition penalty must be positive, got \(repetitionPenalty)") }
        guard lengthPenalty.isFinite else { throw bad("length penalty must be finite, got \(lengthPenalty)") }
        if let sampling {
            guard numBeams == 1 else { throw bad("sampling is implemented for one beam only (got \(numBeams) beams)") }
            guard sampling.topP > 0, sampling.topP <= 1 else { throw bad("top-p must be in (0, 1], got \(sampling.topP)") }
            guard sampling.topK >= 0 else { throw bad("top-k must not be negative, got \(sampling.topK)") }
            guard sampling.temperature > 0, sampling.temperature.isFinite else {
                throw bad("temperature must be positive, got \(sampling.temperature)")
            }
        } else if numReturnSequences > numBeams {
            throw bad("cannot return \(numReturnSequences) sequences from \(numBeams) beam(s)")
        }
    }

    /// The total-length limits for a decoder input of `promptLength` tokens.
    func limits(promptLength: Int, maxPositions: Int) throws -> (max: Int, min: Int) {
        let maximum: Int
        if let maxNewTokens { maximum = promptLength + maxNewTokens }
        else if let maxLength { maximum = maxLength }
        else { maximum = min(promptLength + 20, maxPositions) }
        guard maximum > promptLength else {
            throw GlimpseError.invalidArgument("max length \(maximum) leaves no room after the \(promptLength)-token decoder input")
        }
        guard maximum <= maxPositions else {
            throw GlimpseError.invalidArgument("max length \(maximum) exceeds the \(maxPositions) positions of the text decoder")
        }
        let minimum = minNewTokens.map { promptLength + $0 } ?? minLength
        return (maximum, minimum)
    }
}

/// One generated sequence: every id the decoder saw or produced ([DEC], prompt, new tokens,
/// the final [SEP] when it stopped there), and its score — beam search's length-penalised
/// sum of log-probabilities, or for greedy/sampling the same formula over the chosen tokens.
public struct GeneratedSequence: Sendable, Equatable {
    public var ids: [Int]
    public var score: Float
    /// Where the new tokens start in `ids`.
    public var promptLength: Int
    public var newIds: ArraySlice<Int> { ids[promptLength...] }
}
