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
            var sorted = Array(UnsafeBufferPointer(start: scores, count: vocabulary))
            sorted.sort(by: >)
            let threshold = sorted[sampling.topK - 1]
            for i in 0 ..< vocabulary where scores[i] < threshold { scores[i] = -.infinity }
        }
        if sampling.topP < 1 {
            // Drop the least likely tokens whose total probability is at most 1 − top_p,
            // always keeping the most likely one.
            let order = (0 ..< vocabulary).sorted { scores[$0] < scores[$1] }
            let maximum = scores[order[vocabulary - 1]]
            var probabilities = order.map { Foundation.exp(scores[$0] - maximum) }
            let total = probabilities.reduce(0, +)
            var cumulative: Float = 0
            for (rank, id) in order.enumerated() where rank < vocabulary - 1 {
                probabilities[rank] /= total
                cumulative += probabilities[rank]
                if cumulative <= 1 - sampling.topP { scores[id] = -.infinity } else { break }
            }
        }
    }
}
