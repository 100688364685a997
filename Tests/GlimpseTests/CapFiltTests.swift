import Foundation
import XCTest
@testable import Glimpse

/// CapFilt on the tiny seeded BLIP checkpoints (blip-caption-tiny as captioner, blip-itm-tiny
/// as filter; both checked against transformers in BLIPParityTests). Its scores must be
/// those of `BLIPMatcher.match`, its captions those of `BLIPCaptioner.caption` with the same
/// options and seed, and its records independent of batch size, sharding and keys.
final class CapFiltTests: XCTestCase {
    static let imageNames = ["chelsea.png", "grace_hopper.jpg", "camera.png", "cheetah.jpg", "horse.png", "lion.jpg", "hf-logo_transpng.png"]
    static let webTexts: [String?] = ["a cat lying on a blanket", "a woman in uniform", nil, "a cheetah in the grass",
                                      "a horse", "lion", "a logo"]

    static let captioner = Result { try BLIPCaptioner(folder: Fixtures.path("blip-caption-tiny")) }
    static let filter = Result { try BLIPMatcher(folder: Fixtures.path("blip-itm-tiny")) }

    static func image(_ name: String) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: Fixtures.path("images/\(name)")))
    }

    /// Nine records (two images twice, under other keys) so batches of 4 and 7 split unevenly.
    static func inputs() throws -> [CapFiltInput] {
        var inputs: [CapFiltInput] = []
        for (name, text) in zip(imageNames, webTexts) {
            inputs.append(CapFiltInput(key: "set.jsonl:\(inputs.count + 1)", image: try image(name), webText: text))
        }
        inputs.append(CapFiltInput(key: "again:1", image: try image("chelsea.png"), webText: "a cat lying on a blanket"))
        inputs.append(CapFiltInput(key: "again:2", image: try image("horse.png"), webText: nil))
        return inputs
    }

    static func capFilt(_ configure: (inout CapFiltOptions) -> Void = { _ in }) throws -> CapFilt {
        var options = CapFiltOptions()
        // Short captions keep the debug-build tests quick; re-tokenized for the filter they
        // stay within its 40 positions (a decoded "##x" piece can come back as 3 tokens).
        options.captionsPerImage = 2
        options.maxLength = 14
        options.minLength = 8
        options.sampling.seed = 7
        configure(&options)
        return try CapFilt(captioner: captioner.get(), filter: filter.get(), options: options)
    }

    static func run(_ capFilt: CapFilt, _ inputs: [CapFiltInput], batchSize: Int) throws -> [CapFiltResult] {
        var results: [CapFiltResult] = []
        for start in stride(from: 0, to: inputs.count, by: batchSize) {
            for result in try capFilt.run(Array(inputs[start ..< min(start + batchSize, inputs.count)])) {
                results.append(try result.get())
            }
        }
        return results
    }

    /// Texts, sources and kept flags identical; scores equal to float rounding (BLAS blocks
    /// the products differently for other batch shapes).
    static func assertSame(_ a: [CapFiltResult], _ b: [CapFiltResult], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.key), b.map(\.key), what, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.candidates.map(\.text), y.candidates.map(\.text), "\(what): \(x.key) texts", file: file, line: line)
            XCTAssertEqual(x.candidates.map(\.source), y.candidates.map(\.source), "\(what): \(x.key) sources", file: file, line: line)
            XCTAssertEqual(x.candidates.map(\.kept), y.candidates.map(\.kept), "\(what): \(x.key) kept", file: file, line: line)
            assertClose(x.candidates.map(\.itm), y.candidates.map(\.itm), abs: 1e-5, "\(what): \(x.key) itm", file: file, line: line)
            assertClose(x.candidates.map(\.itc), y.candidates.map(\.itc), abs: 1e-5, "\(what): \(x.key) itc", file: file, line: line)
        }
    }

    func testScoresEqualMatch() throws {
        let inputs = try Self.inputs()
        let results = try Self.run(Self.capFilt(), inputs, batchSize: 4)
        let matcher = try Self.filter.get()
        for (input, result) in zip(inputs, results) {
            XCTAssertEqual(result.candidates.count, (input.webText == nil ? 0 : 1) + 2, result.key)
            if let web = input.webText {
                XCTAssertEqual(result.candidates.first?.text, web)
                XCTAssertEqual(result.candidates.first?.source, .web)
            }
            let expected = try matcher.match(images: [input.image], texts: result.candidates.map(\.text))[0]
            assertClose(result.candidates.map(\.itm), expected.map { $0.itm ?? .nan }, abs: 1e-5, "\(result.key) ITM vs match")
            assertClose(result.candidates.map(\.itc), expected.map { $0.itc ?? .nan }, abs: 1e-5, "\(result.key) ITC vs match")
        }
    }

    /// Each synthetic caption is what `caption` samples for that image alone, with the same
    /// prompt, options and the caption's own seed.
    func testSampledCaptionsEqualCaptionAPI() throws {
        let capFilt = try Self.capFilt()
        let captioner = try Self.captioner.get()
        let inputs = try Self.inputs()
        let results = try Self.run(capFilt, inputs, batchSize: 7)
        let promptLength = 1 + (try captioner.promptIds("a picture of")).count
        var distinct = Set<String>()
        for (input, result) in zip(inputs, results) {
            let synthetic = result.candidates.filter { $0.source == .synthetic }.map(\.text)
            var expected: [String] = []
            for k in 0 ..< 2 {
                var options = capFilt.options.generationOptions
                options.numReturnSequences = 1
                let pair = CapFiltOptions.pairDigest(image: input.image, webText: input.webText)
                options.sampling?.seed = CapFiltOptions.captionSeed(seed: 7, pair: pair, index: k)
                let caption = try captioner.caption(images: [input.image], prompt: "a picture of", options: options)[0][0]
                XCTAssertTrue(caption.text.hasPrefix("a picture of"), caption.text)
                expected.append(captioner.text(of: caption.ids.dropFirst(promptLength)))
            }
            XCTAssertEqual(synthetic, expected, result.key)
            distinct.formUnion(synthetic)
        }
        XCTAssertGreaterThan(distinct.count, inputs.count, "sampling should vary between captions")
    }

    /// Sampling among the top 1 token is greedy search: the captions equal `caption`'s greedy
    /// output under the same lengths and penalty.
    func testTopOneSamplingEqualsGreedyCaption() throws {
        let capFilt = try Self.capFilt { $0.sampling.topK = 1 }
        let captioner = try Self.captioner.get()
        let inputs = Array(try Self.inputs().prefix(4))
        var greedy = capFilt.options.generationOptions
        greedy.sampling = nil
        greedy.numReturnSequences = 1
        let expected = try captioner.caption(images: inputs.map(\.image), prompt: "a picture of", options: greedy)
        let promptLength = 1 + (try captioner.promptIds("a picture of")).count
        for ((input, result), caption) in zip(zip(inputs, try Self.run(capFilt, inputs, batchSize: 4)), expected) {
            let text = captioner.text(of: caption[0].ids.dropFirst(promptLength))
            XCTAssertEqual(result.candidates.filter { $0.source == .synthetic }.map(\.text), [text, text], input.key)
        }
    }

    func testDeterministicAcrossRunsAndBatchSizes() throws {
        let capFilt = try Self.capFilt()
        let inputs = try Self.inputs()
        let one = try Self.run(capFilt, inputs, batchSize: 1)
        Self.assertSame(one, try Self.run(capFilt, inputs, batchSize: 1), "same seed twice")
        Self.assertSame(one, try Self.run(capFilt, inputs, batchSize: 4), "batch 1 vs 4")
        Self.assertSame(one, try Self.run(capFilt, inputs, batchSize: 7), "batch 1 vs 7")
        // Captions follow the pair, not the key: the same image and text under another key get
        // the same captions, the same image without its text others; another seed changes them.
        XCTAssertEqual(one[0].candidates.map(\.text), one[7].candidates.map(\.text))
        XCTAssertNotEqual(one[4].candidates.filter { $0.source == .synthetic }.map(\.text),
                          one[8].candidates.map(\.text))
        let reseeded = try Self.run(Self.capFilt { $0.sampling.seed = 8 }, inputs, batchSize: 4)
        XCTAssertNotEqual(one.map { $0.candidates.map(\.text) }, reseeded.map { $0.candidates.map(\.text) })
    }

    /// Shard 0/2 and 1/2 together give the unsharded records, record for record.
    func testShardsUnionEqualsWhole() throws {
        let capFilt = try Self.capFilt()
        let inputs = try Self.inputs()
        let whole = try Self.run(capFilt, inputs, batchSize: 3)
        var union: [String: CapFiltResult] = [:]
        for index in 0 ..< 2 {
            let shard = try DatasetShard(index: index, count: 2)
            let part = inputs.indices.filter(shard.contains).map { inputs[$0] }
            for result in try Self.run(capFilt, part, batchSize: 3) {
                XCTAssertNil(union.updateValue(result, forKey: result.key), "\(result.key) twice")
            }
        }
        Self.assertSame(whole, whole.compactMap { union[$0.key] }, "shards 0/2 ∪ 1/2 vs whole")
    }

    /// The keep rules, checked against the scores: a threshold chosen between the observed
    /// probabilities, each `keep` setting, and the default argmax rule.
    func testKeepRules() throws {
        let inputs = try Self.inputs()
        let all = try Self.run(Self.capFilt { $0.threshold = 0 }, inputs, batchSize: 9)
        let probabilities = all.flatMap { $0.candidates.map(\.itm) }.sorted()
        XCTAssertTrue(all.allSatisfy { $0.candidates.allSatisfy(\.kept) }, "threshold 0 keeps everything")
        let threshold = (probabilities[probabilities.count / 2 - 1] + probabilities[probabilities.count / 2]) / 2
        for keep in CapFiltOptions.Keep.allCases {
            let results = try Self.run(Self.capFilt { $0.threshold = threshold; $0.keep = keep }, inputs, batchSize: 9)
            var kept = 0
            for result in results {
                for candidate in result.candidates {
                    let allowed = keep == .both || candidate.source.rawValue == keep.rawValue
                    XCTAssertEqual(candidate.kept, allowed && candidate.itm >= threshold, "\(keep) \(result.key) \(candidate.text)")
                    if candidate.kept { kept += 1 }
                }
                XCTAssertEqual(result.keptTexts, result.candidates.filter(\.kept).map(\.text))
            }
            if keep == .both, probabilities[probabilities.count / 2 - 1] < probabilities[probabilities.count / 2] {
                XCTAssertEqual(kept, probabilities.count - probabilities.count / 2, "the upper half lies above the threshold")
            }
        }
        // Default: the ITM head's argmax, i.e. P(match) above one half.
        for result in try Self.run(Self.capFilt(), inputs, batchSize: 9) {
            for candidate in result.candidates { XCTAssertEqual(candidate.kept, candidate.itm > 0.5, "\(result.key) \(candidate.text)") }
        }
    }

    func testWebOnlyAndFailures() throws {
        let webOnly = try Self.capFilt { $0.captionsPerImage = 0 }
        let inputs = try Self.inputs()
        let results = try Self.run(webOnly, inputs, batchSize: 9)
        XCTAssertEqual(results.map { $0.candidates.map(\.text) }, inputs.map { $0.webText.map { [$0] } ?? [] })
        // An empty text and an unreadable image fail alone, with their keys.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("capfilt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("broken.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 2]).write(to: broken)
        let good = Fixtures.path("images/chelsea.png")
        let records = [
            DatasetRecord(key: "a", source: "a", image: .file(path: good), text: "a cat"),
            DatasetRecord(key: "b", source: "b", image: .file(path: broken.path), text: "a cat"),
            DatasetRecord(key: "c", source: "c", image: .file(path: good), text: "   "),
            DatasetRecord(key: "d", source: "d", image: .memory(name: "d.png", bytes: Array(try Data(contentsOf: URL(fileURLWithPath: good)))), text: nil),
        ]
        let out = try Self.capFilt().run(records: records)
        XCTAssertEqual(out.count, 4)
        XCTAssertEqual(try out[0].get().candidates.first?.text, "a cat")
        guard case .failure(let image) = out[1], case .failure(let text) = out[2] else { return XCTFail("\(out)") }
        XCTAssertEqual(image.key, "b")
        XCTAssertTrue(image.reason.contains("broken.jpg"), image.reason)
        XCTAssertEqual(text.key, "c")
        XCTAssertTrue(text.reason.contains("empty"), text.reason)
        XCTAssertEqual(try out[3].get().candidates.count, 2)
    }

    func testOptionErrors() throws {
        XCTAssertThrowsError(try Self.capFilt { $0.threshold = 1.5 })
        XCTAssertThrowsError(try Self.capFilt { $0.captionsPerImage = -1 })
        XCTAssertThrowsError(try Self.capFilt { $0.prompt = "  " })
        XCTAssertThrowsError(try Self.capFilt { $0.sampling.topP = 0 })
        XCTAssertThrowsError(try Self.capFilt { $0.maxLength = 3 }) // below min length 8
    }

    func testCaptionSeedsAndDigestsDiffer() throws {
        let seeds = Set((0 ..< 4).flatMap { k in [0, 1, 2, 1 << 40].flatMap { pair in
            [0, 1].map { CapFiltOptions.captionSeed(seed: UInt64($0), pair: UInt64(pair), index: k) } } })
        XCTAssertEqual(seeds.count, 32)
        let image = try Self.image("horse.png")
        var changed = image
        changed.pixels[changed.pixels.count - 1] ^= 1
        let digests = Set([CapFiltOptions.pairDigest(image: image, webText: nil), CapFiltOptions.pairDigest(image: image, webText: ""),
                           CapFiltOptions.pairDigest(image: image, webText: "a horse"), CapFiltOptions.pairDigest(image: changed, webText: nil)])
        XCTAssertEqual(digests.count, 4)
        XCTAssertEqual(CapFiltOptions.pairDigest(image: image, webText: "a"), CapFiltOptions.pairDigest(image: try Self.image("horse.png"), webText: "a"))
    }
}
