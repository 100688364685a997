import Foundation
import GlimpseCore

/// The score adjustments transformers applies before choosing a token, in its order:
/// repetition penalty, no-repeat n-grams, minimum length, minimum new tokens. Each works on
/// one row of scores (logits for greedy/sampling, log-probabilities for beam search) given
/// the sequence so far.
struct LogitsProcessors {
    let options: GenerationOptions
    let eos: Int
    let promptLength: Int
    let minLength: Int

    func apply(_ scores: UnsafeMutablePointer<Float>, vocabulary: Int, sequence: [Int]) {
        let penalty = options.repetitionPenalty
        if penalty != 1 {
            for id in Set(sequence) where id >= 0 && id < vocabulary {
                let s = scores[id]
                scores[id] = s < 0 ? s * penalty : s / penalty
            }
        }
        let n = options.noRepeatNgramSize
        if n > 0, sequence.count + 1 >= n {
            let tail = sequence.suffix(n - 1)
            for start in 0 ..< max(0, sequence.count - n + 1) where sequence[start ..< start + n - 1].elementsEqual(tail) {
                let banned = sequence[start + n - 1]
                if banned < vocabulary { scores[banned] = -.infinity }
            }
        }
        if sequence.count < minLength { scores[eos] = -.infinity }
        if let minNew = options.minNewTokens, sequence.count - promptLength < minNew { scores[eos] = -.infinity }
    }
}

/// log_softmax of one row, in place (max-shifted, as PyTorch).
func logSoftmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var maximum = -Float.infinity
    for i in 0 ..< count { maximum = max(maximum, row[i]) }
    var sum: Float = 0
    for i in 0 ..< count { sum += Foundation.exp(row[i] - maximum) }
    let shift = maximum + Foundation.log(sum)
    for i in 0 ..< count { row[i] -= shift }
}

/// Sampling warpers, in transformers' order: temperature, top-k, top-p (nucleus).
struct SamplingWarpers {
    let sampling: GenerationOptions.Sampling

    func apply(_ scores: UnsafeMutablePointer<Float>, vocabulary: Int) {
        if sampling.temperature != 1 {
            for i in 0 ..< vocabulary { scores[i] /= sampling.temperature }
        }
        if sampling.topK > 0 && sampling.topK < vocabulary {
            let threshold = Self.kthLargest(scores, vocabulary: vocabulary, k: sampling.topK)
            for i in 0 ..< vocabulary where scores[i] < threshold { scores[i] = -.infinity }
        }
        if sampling.topP < 1 {
            // Drop the least likely tokens whose total probability is at most 1 − top_p,
            // always keeping the most likely one. Tokens already at −∞ (outside the top k)
            // have probability 0 and are left out of the sort: they add nothing to the sums.
            let order = (0 ..< vocabulary).filter { scores[$0] != -.infinity }.sorted { scores[$0] < scores[$1] }
            guard let last = order.last else { return }
            let maximum = scores[last]
            var probabilities = order.map { Foundation.exp(scores[$0] - maximum) }
            let total = probabilities.reduce(0, +)
            var cumulative: Float = 0
            for (rank, id) in order.enumerated() where rank < order.count - 1 {
                probabilities[rank] /= total
                cumulative += probabilities[rank]
                if cumulative <= 1 - sampling.topP { scores[id] = -.infinity } else { break }
            }
        }
    }

    /// The k-th largest score (as `sorted(by: >)[k - 1]`), keeping only the k largest seen
    /// so far in a sorted buffer: one pass over the vocabulary instead of a full sort.
    static func kthLargest(_ scores: UnsafeMutablePointer<Float>, vocabulary: Int, k: Int) -> Float {
        var top: [Float] = []  // ascending, at most k
        top.reserveCapacity(k + 1)
        for i in 0 ..< vocabulary {
            let s = scores[i]
            if top.count == k {
                guard s > top[0] else { continue }
                top.removeFirst()
            }
            var at = top.count
            while at > 0 && top[at - 1] > s { at -= 1 }
            top.insert(s, at: at)
        }
        return top[0]
    }
}
