import Foundation

/// What to look for: texts and images, each with a weight (negative terms pull results away),
/// how many results, and optionally only under one folder. The query vector is the weighted
/// sum of the terms' L2-normalised embeddings, normalised again; results are ranked by its
/// cosine similarity to each photo's embedding.
public struct SearchQuery: Sendable {
    public enum Term: Sendable {
        case text(String)
        case imageFile(String)
        case image(RGBImage)
        /// A ready embedding (of the library's model), such as a catalogued photo's.
        case embedding([Float])
        /// A catalogued photo, by its catalogue id: "more like this one".
        case file(Int64)
    }

    public var terms: [(term: Term, weight: Float)]
    /// Results wanted (1 to `Limits.searchResults`).
    public var top: Int
    /// Only files at or under this absolute folder path.
    public var under: String?

    public init(terms: [(term: Term, weight: Float)], top: Int = 10, under: String? = nil) {
        self.terms = terms
        self.top = top
        self.under = under
    }

    /// A text and/or an image query with weights, minus the negative texts.
    public init(text: String? = nil, image: String? = nil, textWeight: Float = 1, imageWeight: Float = 1,
                negatives: [String] = [], negativeWeight: Float = 1, top: Int = 10, under: String? = nil) {
        var terms: [(Term, Float)] = []
        if let text { terms.append((.text(text), textWeight)) }
        if let image { terms.append((.imageFile(image), imageWeight)) }
        terms += negatives.map { (.text($0), -negativeWeight) }
        self.init(terms: terms, top: top, under: under)
    }
}

/// One result: the catalogued file and its cosine similarity to the query.
public struct SearchHit: Sendable, Equatable {
    public var file: CatalogueFile
    public var score: Float
}

extension SearchQuery {
    /// The query vector: Σ weight · normalise(embedding(term)), normalised. Texts and images
    /// are embedded with `clip`; catalogued files are looked up in `snapshot`.
    func vector(clip: CLIP?, snapshot: LibrarySnapshot) throws -> [Float] {
        guard !terms.isEmpty else { throw GlimpseError.invalidArgument("the query is empty: give a text, an image or a photo to search by") }
        guard (1 ... Limits.searchResults).contains(top) else {
            throw GlimpseError.invalidArgument("top must be 1 to \(Limits.searchResults), got \(top)")
        }
        let dimension = snapshot.model.dimension
        var sum = [Float](repeating: 0, count: dimension)
        for (term, weight) in terms {
            guard weight.isFinite else { throw GlimpseError.invalidArgument("a query weight is \(weight), not a finite number") }
            var embedding: [Float]
            switch term {
            case .embedding(let values): embedding = values
            case .file(let id):
                guard let file = snapshot.file(id: id) else { throw GlimpseError.invalidArgument("no catalogued photo has id \(id)") }
                embedding = snapshot.embeddings.row(file.slot)
            case .text(let text):
                embedding = try Self.model(clip).embed(texts: [text]).scalars
            case .imageFile(let path):
                embedding = try Self.model(clip).embed(imageFiles: [path]).scalars
            case .image(let image):
                embedding = try Self.model(clip).embed(images: [image]).scalars
            }
            guard embedding.count == dimension else {
                throw GlimpseError.invalidArgument("a query embedding has \(embedding.count) values; the library's have \(dimension)")
            }
            let norm = embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0, norm.isFinite else { throw GlimpseError.invalidArgument("a query term has a zero or non-finite embedding") }
            for i in 0 ..< dimension { sum[i] += weight * embedding[i] / norm }
        }
        let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else {
            throw GlimpseError.invalidArgument("the query terms cancel out (their weighted sum is zero)")
        }
        return sum.map { $0 / norm }
    }

    static func model(_ clip: CLIP?) throws -> CLIP {
        guard let clip else { throw GlimpseError.invalidArgument("a text or image query needs the library's model") }
        return clip
    }
}
