import Foundation
import GlimpseCore
import GlimpseImage

/// How CapFilt captions and filters (BLIP §3.3). The defaults are those of BLIP's own
/// captioner when it bootstraps a dataset (`BLIP_Decoder.generate(sample=True)` in the
/// reference code): the prompt "a picture of ", nucleus sampling with top-p 0.9 and
/// transformers' default top-k 50, repetition penalty 1.1, 10 to 30 tokens in all ([DEC]
/// and the prompt included); the prompt is removed from the synthetic caption before the
/// filter sees it. The filter keeps a text when its ITM head classifies the pair as a match.
public struct CapFiltOptions: Sendable, Equatable {
    /// Which texts may be kept: the web text, the synthetic captions, or both.
    public enum Keep: String, Sendable, Equatable, CaseIterable {
        case web, synthetic, both

        public func allows(_ source: CapFiltCandidate.Source) -> Bool {
            switch self {
            case .both: return true
            case .web: return source == .web
            case .synthetic: return source == .synthetic
            }
        }
    }

    /// Synthetic captions per image (K); 0 filters the web texts only.
    public var captionsPerImage = 1
    /// Text each synthetic caption continues; nil for none. BLIP's captioner was fine-tuned
    /// with "a picture of " in front of every caption, and the Hugging Face captioning
    /// checkpoints (converted from it) store no prompt of their own.
    public var prompt: String? = "a picture of"
    /// Nucleus mass, top-k and temperature. `sampling.seed` is the run's seed: each caption
    /// draws from its own generator seeded by `captionSeed(pair:index:)`.
    public var sampling = GenerationOptions.Sampling(topP: 0.9, topK: 50, temperature: 1, seed: 0)
    public var maxLength = 30
    public var minLength = 10
    public var repetitionPenalty: Float = 1.1
    /// Keep a text when its ITM match probability is at least this; nil keeps what the ITM
    /// head classifies as a match (logit of "match" above that of "no match", as argmax).
    public var threshold: Float?
    public var keep = Keep.both

    public init() {}

    /// The captioner's decoding settings: sampling, K sequences per image.
    public var generationOptions: GenerationOptions {
        var options = GenerationOptions()
        options.maxLength = maxLength
        options.minLength = minLength
        options.repetitionPenalty = repetitionPenalty
        options.numReturnSequences = max(captionsPerImage, 1)
        options.sampling = sampling
        return options
    }

    public func validate() throws {
        guard (0 ... Limits.beams).contains(captionsPerImage) else {
            throw GlimpseError.invalidArgument("captions per image must be 0 to \(Limits.beams), got \(captionsPerImage)")
        }
        if let threshold, !(threshold >= 0 && threshold <= 1) {
            throw GlimpseError.invalidArgument("the ITM threshold must be in [0, 1], got \(threshold)")
        }
        if let prompt, prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw GlimpseError.invalidArgument("the caption prompt is empty (use no prompt instead)")
        }
        try generationOptions.validate()
    }

    /// Whether a candidate from `source` whose ITM logits are (no match, match) is kept.
    public func keeps(_ source: CapFiltCandidate.Source, itmLogits: (Float, Float), probability: Float) -> Bool {
        guard keep.allows(source) else { return false }
        if let threshold { return probability >= threshold }
        return itmLogits.1 > itmLogits.0
    }

    /// The seed of synthetic caption `index` of the pair whose `CapFiltOptions.pairDigest` is
    /// `pair`: a function of the run's seed, the pair's content and the index only, so a
    /// caption is the same whatever batch or shard the record is processed in, and whether it
    /// came from a manifest, a tar shard or standard input (whose keys differ).
    /// `BLIPCaptioner` sampling with this seed and one sequence gives the same caption.
    public func captionSeed(pair: UInt64, index: Int) -> UInt64 {
        Self.captionSeed(seed: sampling.seed, pair: pair, index: index)
    }

    public static func captionSeed(seed: UInt64, pair: UInt64, index: Int) -> UInt64 {
        // SplitMix64's output function scrambles each combination, so neighbouring seeds,
        // pairs or indices give unrelated streams.
        var run = SplitMix64(seed: seed)
        var record = SplitMix64(seed: run.next() ^ pair)
        var caption = SplitMix64(seed: record.next() &+ UInt64(truncatingIfNeeded: index))
        return caption.next()
    }

    /// A 64-bit digest of an image–text pair: the decoded pixels, their size and the web
    /// text (none and empty differ). Equal pairs get equal captions.
    public static func pairDigest(image: RGBImage, webText: String?) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ word: UInt64) {
            hash = (hash ^ word) &* 0x9E37_79B9_7F4A_7C15
            hash ^= hash >> 29
        }
        mix(UInt64(image.width))
        mix(UInt64(image.height))
        image.pixels.withUnsafeBytes { raw in
            var offset = 0
            while offset + 8 <= raw.count {
                mix(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            var tail: UInt64 = 0
            while offset < raw.count { tail = tail << 8 | UInt64(raw[offset]); offset += 1 }
            mix(tail)
        }
        if let webText {
            mix(1)
            for byte in webText.utf8 { mix(UInt64(byte)) }
        } else {
            mix(0)
        }
        return hash
    }
}
