import Foundation
import GlimpseCore

/// Greedy decoding and sampling (transformers' `_sample`): one slot per returned sequence,
/// each step the processed scores pick (argmax) or draw the next token. Finished slots are
/// dropped from the cache, so the batch shrinks as captions end.
struct GreedySearch<Decoder: TokenDecoder> {
    let decoder: Decoder
    let options: GenerationOptions
    let processors: LogitsProcessors
    let eos: Int
    let maxLength: Int
    /// Sampling only: one seed per slot (input-major), each slot drawing from its own
    /// generator so its tokens do not depend on the other slots; nil: one generator seeded
    /// with `options.sampling.seed` serves every slot in turn.
    var slotSeeds: [UInt64]? = nil

    func run(inputs: Int, prompt: [Int]) throws -> [[GeneratedSequence]] {
        let perInput = options.sampling == nil ? 1 : options.numReturnSequences
        let slotInput = (0 ..< inputs).flatMap { Array(repeating: $0, count: perInput) }
        if let slotSeeds, slotSeeds.count != slotInput.count {
            throw GlimpseError.invalidArgument("\(slotSeeds.count) sampling seeds for \(slotInput.count) sequences")
        }
        var slotGenerators = slotSeeds?.map { SplitMix64(seed: $0) } ?? []
        var sequences = slotInput.map { _ in prompt }
        var sums = [Float](repeating: 0, count: slotInput.count)
        var active = Array(slotInput.indices)        // active[slot] = sequence index
        let cache = decoder.makeCache(inputOf: slotInput, capacity: maxLength)
        var generator = SplitMix64(seed: options.sampling?.seed ?? 0)
        let warpers = options.sampling.map(SamplingWarpers.init)
        let vocabulary = decoder.vocabularySize
        var next: [[Int]] = active.map { _ in prompt }
        while !active.isEmpty {
            let logits = try decoder.step(next, cache: cache)
            var keep: [Int] = []
            next = []
            for (slot, index) in active.enumerated() {
                let row = logits.data + slot * vocabulary
                processors.apply(row, vocabulary: vocabulary, sequence: sequences[index])
                let token: Int
                if let warpers {
                    warpers.apply(row, vocabulary: vocabulary)
                    token = slotGenerators.isEmpty ? Self.draw(row, vocabulary: vocabulary, using: &generator)
                        : Self.draw(row, vocabulary: vocabulary, using: &slotGenerators[index])
                } else {
                    token = Self.argmax(row, vocabulary: vocabulary)
                }
                logSoftmaxInPlace(row, count: vocabulary)
                sums[index] += row[token]
                sequences[index].append(token)
                if token != eos && sequences[index].count < maxLength {
                    keep.append(slot)
                    next.append([token])
                }
            }
            if keep.count != active.count {
                cache.reorder(keep)
                active = keep.map { active[$0] }
            }
        }
        return (0 ..< inputs).map { input in
            (0 ..< perInput).map { k in
                let i = input * perInput + k
                return GeneratedSequence(ids: sequences[i],
                                         score: normalisedScore(sums[i], newTokens: sequences[i].count - prompt.count,
                                                                lengthPenalty: options.lengthPenalty),
                                         promptLength: prompt.count)
            }
        }
    }

    /// First index of the maximum, as torch.argmax.
    static func argmax(_ row: UnsafeMutablePointer<Float>, vocabulary: Int) -> Int {
        var best = 0
        for i in 1 ..< vocabulary where row[i] > row[best] { best = i }
        return best
    }

    /// A draw from softmax(row).
    static func draw(_ row: UnsafeMutablePointer<Float>, vocabulary: Int, using generator: inout SplitMix64) -> Int {
        var maximum = -Float.infinity
        for i in 0 ..< vocabulary { maximum = max(maximum, row[i]) }
        var weights = [Double](repeating: 0, count: vocabulary)
        var total = 0.0
        for i in 0 ..< vocabulary {
            weights[i] = row[i] == -.infinity ? 0 : Foundation.exp(Double(row[i] - maximum))
            total += weights[i]
        }
        var target = Double.random(in: 0 ..< total, using: &generator)
        for i in 0 ..< vocabulary where weights[i] > 0 {
            target -= weights[i]
            if target < 0 { return i }
        }
        return argmax(row, vocabulary: vocabulary)
    }
}
