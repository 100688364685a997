import Foundation
import XCTest
@testable import Glimpse

/// A decoder whose next-token distribution is fixed: softmax(logits) whatever the input, so
/// sampling and the processors can be checked against known probabilities.
struct FixedDecoder: TokenDecoder {
    let logits: [Float]
    var vocabularySize: Int { logits.count }
    var maxPositions: Int { 64 }
    func makeCache(inputOf: [Int], capacity: Int) -> BERTCache {
        BERTCache(layers: 1, hidden: 1, imageOf: inputOf, capacity: capacity)
    }
    func step(_ tokens: [[Int]], cache: BERTCache) throws -> Tensor {
        let rows = tokens.count
        return Tensor(shape: [rows, logits.count], values: Array((0 ..< rows).map { _ in logits }.joined()))
    }
}

/// Sampling cannot match torch's random stream, so it is tested by its distribution: the
/// empirical frequencies of first tokens against the warped probabilities.
final class GenerationTests: XCTestCase {
    let logits: [Float] = [2.0, 1.5, 1.0, 0.5, 0.0, -1.0]   // token 5 is EOS

    func sampleFirstTokens(_ sampling: GenerationOptions.Sampling, count: Int) throws -> [Int: Int] {
        var options = GenerationOptions()
        options.sampling = sampling
        options.maxNewTokens = 1
        options.numReturnSequences = count
        let out = try Generator.generate(FixedDecoder(logits: logits), inputs: 1, prompt: [0], eos: 5, options: options)
        var histogram: [Int: Int] = [:]
        for sequence in out[0] { histogram[sequence.ids[1], default: 0] += 1 }
        return histogram
    }

    func probabilities(_ scores: [Float]) -> [Double] {
        let e = scores.map { Foundation.exp(Double($0)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    func testSamplingFollowsTemperatureSoftmax() throws {
        let n = 20000
        let histogram = try sampleFirstTokens(.init(topP: 1, topK: 0, temperature: 0.7, seed: 1), count: n)
        let expected = probabilities(logits.map { $0 / 0.7 })
        for (token, p) in expected.enumerated() {
            let observed = Double(histogram[token, default: 0]) / Double(n)
            XCTAssertEqual(observed, p, accuracy: 4 * (p * (1 - p) / Double(n)).squareRoot() + 1e-3, "token \(token)")
        }
    }

    func testTopKAndTopPRestrictTheSupport() throws {
        let topK = try sampleFirstTokens(.init(topP: 1, topK: 2, temperature: 1, seed: 2), count: 3000)
        XCTAssertEqual(Set(topK.keys), [0, 1])
        let pK = probabilities([2.0, 1.5])
        XCTAssertEqual(Double(topK[0, default: 0]) / 3000, pK[0], accuracy: 0.04)
        // Probabilities ≈ .39 .24 .14 .09 .05 .02: top-p 0.7 keeps tokens 0, 1, 2 (cumulative .77).
        let topP = try sampleFirstTokens(.init(topP: 0.7, topK: 0, temperature: 1, seed: 3), count: 3000)
        XCTAssertEqual(Set(topP.keys), [0, 1, 2])
        // A tiny top-p keeps only the most likely token.
        XCTAssertEqual(Set(try sampleFirstTokens(.init(topP: 0.01, topK: 0, temperature: 1, seed: 4), count: 200).keys), [0])
    }

    func testSamplingIsReproducibleBySeed() throws {
        let a = try sampleFirstTokens(.init(topP: 1, topK: 0, temperature: 1, seed: 9), count: 50)
        let b = try sampleFirstTokens(.init(topP: 1, topK: 0, temperature: 1, seed: 9), count: 50)
        XCTAssertEqual(a, b)
    }

    func testProcessors() {
        var options = GenerationOptions()
        options.repetitionPenalty = 2
        options.noRepeatNgramSize = 2
        let processors = LogitsProcessors(options: options, eos: 5, promptLength: 1, minLength: 4)
        var scores: [Float] = [1, -1, 3, 0.5, 2, 4]
        // Sequence [0, 3, 1, 3]: 3 was followed by 1 before, so after the final 3, 1 is banned.
        scores.withUnsafeMutableBufferPointer { processors.apply($0.baseAddress!, vocabulary: 6, sequence: [0, 3, 1, 3]) }
        XCTAssertEqual(scores[0], 0.5)              // positive: divided
        XCTAssertEqual(scores[1], -.infinity)       // n-gram ban
        XCTAssertEqual(scores[3], 0.25)
        XCTAssertEqual(scores[2], 3)                // unseen: unchanged
        XCTAssertEqual(scores[5], 4)                // length 4 reached: EOS allowed
        var short: [Float] = [1, 1, 1, 1, 1, 1]
        short.withUnsafeMutableBufferPointer { processors.apply($0.baseAddress!, vocabulary: 6, sequence: [0, 2]) }
        XCTAssertEqual(short[5], -.infinity)        // below min length: no EOS
    }

    func testOptionValidation() {
        func message(_ change: (inout GenerationOptions) -> Void) -> String {
            var options = GenerationOptions()
            change(&options)
            do { try options.validate(); return "" } catch { return String(describing: error) }
        }
        XCTAssertTrue(message { $0.numBeams = 0 }.contains("beams"))
        XCTAssertTrue(message { $0.maxLength = 4; $0.minLength = 6 }.contains("smaller than min length"))
        XCTAssertTrue(message { $0.sampling = .init(topP: 0) }.contains("top-p"))
        XCTAssertTrue(message { $0.sampling = .init(topP: 1.2) }.contains("top-p"))
        XCTAssertTrue(message { $0.sampling = .init(temperature: 0) }.contains("temperature"))
        XCTAssertTrue(message { $0.numBeams = 2; $0.numReturnSequences = 3 }.contains("cannot return 3"))
        XCTAssertEqual(message { $0.numBeams = 3; $0.numReturnSequences = 3 }, "")
    }
}
