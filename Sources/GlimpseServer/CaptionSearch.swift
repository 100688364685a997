import Foundation
import Glimpse
import GlimpseSearch
import Hummingbird

extension LibraryService {
    /// A search in `mode` (see `PhotoLibrary.search(_:mode:in:clip:)`): keyword matches
    /// `texts` against the captions; hybrid fuses that with the semantic ranking of `query`,
    /// which runs on the batch queue like any other.
    public func search(_ query: SearchQuery, mode: SearchMode, texts: [String]) async throws -> [SearchHit] {
        guard mode != .semantic else { return try await search(query) }
        let words = try library.keywords(texts, mode: mode, top: query.top)
        let snapshot = try current().snapshot
        guard mode == .hybrid else { return try library.keywordRanking(words, top: query.top, under: query.under, snapshot: snapshot) }
        var deep = query
        deep.top = HybridRanking.depth(top: query.top)
        let semantic = try await search(deep)
        let keyword = try library.keywordRanking(words, top: deep.top, under: query.under, snapshot: snapshot)
        return HybridRanking.fuse(semantic: semantic, keyword: keyword, top: query.top, snapshot: snapshot)
    }

    /// The captions of the hits' photos (content hash → text), empty for a library without.
    func captions(_ hits: [SearchHit]) throws -> [String: String] {
        guard try library.catalogue.captionModel() != nil else { return [:] }
        return try library.catalogue.captions(for: hits.map(\.file.sha256))
    }
}

extension SearchRoutes {
    /// The `mode` parameter: semantic (default), keyword or hybrid.
    static func mode(_ request: Request) throws -> SearchMode {
        guard let text = FormQuery(request)["mode"] else { return .semantic }
        guard let mode = SearchMode(rawValue: text) else {
            throw HTTPError(.badRequest, message: "mode must be semantic, keyword or hybrid, got \(text.prefix(64))")
        }
        return mode
    }
}
