import Foundation
import GlimpseCore

/// Beam search as transformers' `_beam_search` computes it, so the ids match:
/// each step keeps the top 2·K continuations over all K beams (K = num_beams); those ending
/// in EOS or at max length among the first K become finished hypotheses (score / new
/// tokens^length_penalty), the best K unfinished keep running. The -1e9 sentinels are the
/// reference's own, in fp32, so ties and exclusions fall the same way.
struct BeamSearch<Decoder: TokenDecoder> {
    let decoder: Decoder
    let options: GenerationOptions
    let processors: LogitsProcessors
    let eos: Int
    let maxLength: Int

    /// The search state of one input.
    struct Beams {
        var running: [[Int]]
        var runningScores: [Float]
        var finished: [[Int]]
        var finishedScores: [Float]
        var isFinished: [Bool]
        var improvable = true
        var done = false
    }

    func run(inputs: Int, prompt: [Int]) throws -> [[GeneratedSequence]] {
        let k = options.numBeams, vocabulary = decoder.vocabularySize
        let promptLength = prompt.count
        var states = (0 ..< inputs).map { _ in
            Beams(running: Array(repeating: prompt, count: k),
                  runningScores: [0] + Array(repeating: -1e9, count: k - 1),
                  finished: Array(repeating: prompt, count: k), finishedScores: Array(repeating: -1e9, count: k),
                  isFinished: Array(repeating: false, count: k))
        }
        // The prompt is run once per input, then its cache copied to the K beams: only beam 0
        // is live at the first step, as in the reference.
        let cache = decoder.makeCache(inputOf: Array(0 ..< inputs), capacity: maxLength)
        var logits = try decoder.step(Array(repeating: prompt, count: inputs), cache: cache)
        var live = Array(0 ..< inputs)                  // inputs still searching, in slot order
        var beamsPerSlotGroup = 1
        var length = promptLength
        while true {
            var sources: [Int] = []                      // cache slots for the next step
            var nextTokens: [[Int]] = []
            var stillLive: [Int] = []
            for (group, input) in live.enumerated() {
                var scores = [(score: Float, beam: Int, token: Int)]()
                scores.reserveCapacity(k * vocabulary)
                var beamLogProbs = [Float](repeating: 0, count: vocabulary)
                for beam in 0 ..< k {
                    let slot = group * beamsPerSlotGroup + (beamsPerSlotGroup == 1 ? 0 : beam)
                    let row = logits.data + slot * vocabulary
                    beamLogProbs.withUnsafeMutableBufferPointer { buffer in
                        let p = buffer.baseAddress!
                        p.update(from: row, count: vocabulary)
                        logSoftmaxInPlace(p, count: vocabulary)
                        processors.apply(p, vocabulary: vocabulary, sequence: states[input].running[beam])
                    }
                    let base = states[input].runningScores[beam]
                    for t in 0 ..< vocabulary { scores.append((beamLogProbs[t] + base, beam, t)) }
                }
                let top = Self.topK(scores, 2 * k)
                let selected = step(&states[input], candidates: top, length: length, promptLength: promptLength)
                if !states[input].done {
                    stillLive.append(input)
                    for (beam, token) in selected {
                        sources.append(group * beamsPerSlotGroup + (beamsPerSlotGroup == 1 ? 0 : beam))
                        nextTokens.append([token])
                    }
                }
            }
            length += 1
            live = stillLive
            if live.isEmpty { break }
            cache.reorder(sources)
            beamsPerSlotGroup = k
            logits = try decoder.step(nextTokens, cache: cache)
        }
        return states.map { state in
            (0 ..< options.numReturnSequences).map { i in
                GeneratedSequence(ids: state.finished[i], score: state.finishedScores[i], promptLength: promptLength)
            }
        }
    }

    /// Applies one step's top 2K candidates to an input's beams; returns the (source beam,
    /// token) of the K beams that keep running.
    func step(_ s: inout Beams, candidates: [(score: Float, beam: Int, token: Int)], length: Int,
              promptLength: Int) -> [(Int, Int)] {
        let k = options.numBeams
        let sequences = candidates.map { s.running[$0.beam] + [$0.token] }
        let hits = candidates.map { $0.token == eos || length + 1 >= maxLength }
        // Running beams: the best K continuations that did not just stop.
        let runningScores = zip(candidates, hits).map { $0.score + ($1 ? -1.0e9 : 0) }
        let runningOrder = Self.topIndices(runningScores, k)
        // Finished hypotheses: merge the K best candidates that stopped into the finished set.
        let penalty = Float(pow(Double(length + 1 - promptLength), Double(options.lengthPenalty)))
        let full = s.isFinished.allSatisfy { $0 } && options.earlyStopping == .always
        var merged = s.finishedScores, mergedSequences = s.finished, mergedFinished = s.isFinished
        for (j, candidate) in candidates.enumerated() {
            var score = candidate.score / penalty
            if full { score += -1.0e9 }
            if !s.improvable { score += -1.0e9 }
            let justFinished = hits[j] && j < k
            if !justFinished { score += -1.0e9 }
            merged.append(score)
            mergedSequences.append(sequences[j])
            mergedFinished.append(justFinished)
        }
        let finishedOrder = Self.topIndices(merged, k)
        s.finished = finishedOrder.map { mergedSequences[$0] }
        s.finishedScores = finishedOrder.map { merged[$0] }
        s.isFinished = finishedOrder.map { mergedFinished[$0] }
        s.running = runningOrder.map { sequences[$0] }
        s.runningScores = runningOrder.map { runningScores[$0] }
        // Can a running beam still beat the worst finished one?
        let nextLength = length + 1
        let hypothetical = options.earlyStopping == .never && options.lengthPenalty > 0
            ? maxLength - promptLength : nextLength - promptLength
        let best = s.runningScores[0] / Float(pow(Double(hypothetical), Double(options.lengthPenalty)))
        let worst = s.finishedScores.min() ?? -1e9
        s.improvable = s.improvable && s.isFinished.contains { !$0 ? best > -1e9 : best > worst }
        let allStopped = hits.allSatisfy { $0 }
        s.done = !s.improvable || (s.isFinished.allSatisfy { $0 } && options.earlyStopping == .always) || allStopped
        return runningOrder.map { (candidates[$0].beam, candidates[$0].token) }
    }

    /// Indices of the `k` largest values, largest first; ties keep the lower index first.
    static func topIndices(_ values: [Float], _ k: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(k))
    }

    /// The `k` best (score, beam, token) over all beams' vocabularies, best first.
    static func topK(_ scores: [(score: Float, beam: Int, token: Int)], _ k: Int) -> [(score: Float, beam: Int, token: Int)] {
        var best: [(score: Float, beam: Int, token: Int)] = []
        best.reserveCapacity(k + 1)
        for candidate in scores {
            if best.count == k, let last = best.last, !(candidate.score > last.score) { continue }
            var i = best.count
            while i > 0 && candidate.score > best[i - 1].score { i -= 1 }
            best.insert(candidate, at: i)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
