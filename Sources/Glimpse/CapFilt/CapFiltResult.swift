import GlimpseImage

/// One web image–text pair for CapFilt: the decoded image, its web text (if any), and the
/// record's key, which seeds its synthetic captions (see `CapFiltOptions.captionSeed`).
public struct CapFiltInput: Sendable {
    public let key: String
    public let image: RGBImage
    public let webText: String?

    public init(key: String, image: RGBImage, webText: String?) {
        self.key = key
        self.image = image
        self.webText = webText
    }
}

/// One text the filter judged against its image.
public struct CapFiltCandidate: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        /// The text that came with the image.
        case web
        /// A caption the captioner wrote.
        case synthetic
    }

    public let text: String
    public let source: Source
    /// P(match) from the ITM head's softmax: what `BLIPMatcher.match` gives as `itm`.
    public let itm: Float
    /// Cosine of the ITC embeddings: `BLIPMatcher.match`'s `itc`.
    public let itc: Float
    /// Whether the keep rule kept it (source allowed and judged a match).
    public let kept: Bool

    public init(text: String, source: Source, itm: Float, itc: Float, kept: Bool) {
        self.text = text
        self.source = source
        self.itm = itm
        self.itc = itc
        self.kept = kept
    }
}

/// CapFilt's verdict on one image: every candidate with its scores, the web text first,
/// then the synthetic captions in the order they were drawn. Scores are kept for all of
/// them so a dataset can be re-thresholded without running the models again.
public struct CapFiltResult: Sendable, Equatable {
    public let key: String
    public let candidates: [CapFiltCandidate]

    public init(key: String, candidates: [CapFiltCandidate]) {
        self.key = key
        self.candidates = candidates
    }

    /// The texts of the new dataset for this image.
    public var keptTexts: [String] { candidates.filter(\.kept).map(\.text) }
}
