import Foundation

/// What a CapFilt run did, counted as results arrive: the numbers of its summary. Tallies
/// of separate runs (shards, resumed parts) add up with `merge`.
public struct CapFiltTally: Codable, Sendable, Equatable {
    /// Records read, failures included.
    public var pairsIn = 0
    /// Records that produced a result.
    public var images = 0
    /// Records that failed (unreadable image, empty text, bad line, …).
    public var failures = 0
    public var webTexts = 0
    public var webKept = 0
    public var syntheticCaptions = 0
    public var syntheticKept = 0
    /// Images without any kept text.
    public var imagesWithoutText = 0

    public init() {}

    public mutating func add(_ result: CapFiltResult) {
        pairsIn += 1
        images += 1
        for candidate in result.candidates {
            switch candidate.source {
            case .web:
                webTexts += 1
                if candidate.kept { webKept += 1 }
            case .synthetic:
                syntheticCaptions += 1
                if candidate.kept { syntheticKept += 1 }
            }
        }
        if !result.candidates.contains(where: \.kept) { imagesWithoutText += 1 }
    }

    public mutating func addFailure() {
        pairsIn += 1
        failures += 1
    }

    public mutating func merge(_ other: CapFiltTally) {
        pairsIn += other.pairsIn
        images += other.images
        failures += other.failures
        webTexts += other.webTexts
        webKept += other.webKept
        syntheticCaptions += other.syntheticCaptions
        syntheticKept += other.syntheticKept
        imagesWithoutText += other.imagesWithoutText
    }

    /// Percentage of `part` in `whole`; 0 for an empty whole.
    public static func percent(_ part: Int, of whole: Int) -> Double {
        whole == 0 ? 0 : Double(part) * 100 / Double(whole)
    }

    public var webKeptPercent: Double { Self.percent(webKept, of: webTexts) }
    public var syntheticKeptPercent: Double { Self.percent(syntheticKept, of: syntheticCaptions) }

    /// One line for people: pairs in, kept shares, rate over `seconds`.
    public func line(seconds: Double) -> String {
        let rate = seconds > 0 ? Double(images) / seconds : 0
        return String(format: "%d pairs in, %d images captioned and filtered, %d failed; web texts kept %d/%d (%.1f %%), synthetic captions kept %d/%d (%.1f %%); %.2f images/s",
                      pairsIn, images, failures, webKept, webTexts, webKeptPercent, syntheticKept, syntheticCaptions,
                      syntheticKeptPercent, rate)
    }
}
