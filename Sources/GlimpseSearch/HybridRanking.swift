import Foundation

/// How `search` ranks: by CLIP embeddings (semantic), by the words of the photos' BLIP
/// captions (keyword, BM25 through FTS5), or by both fused (hybrid).
public enum SearchMode: String, Sendable, CaseIterable {
    case semantic, keyword, hybrid
}

/// Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a result's score is
/// Σ 1 / (k + rank) over the rankings it appears in (rank counted from 1). It needs no
/// calibration between BM25 and cosine scores, which live on unrelated scales.
public enum HybridRanking {
    /// The constant of the paper, used by most hybrid search engines.
    public static let k = 60
    /// Results of each ranking that take part in the fusion (at least `top`): past this depth
    /// 1 / (k + rank) no longer moves a result into the first page.
    public static let depth = 1000

    /// Results of each ranking fused for a page of `top`.
    public static func depth(top: Int) -> Int { min(max(top, depth), Limits.searchResults) }

    /// The semantic and keyword rankings of one query (files of `snapshot`, best first) fused;
    /// the best `top`, scored by their RRF sum.
    public static func fuse(semantic: [SearchHit], keyword: [SearchHit], top: Int, snapshot: LibrarySnapshot) -> [SearchHit] {
        var position: [Int64: Int] = [:]
        for (index, file) in snapshot.files.enumerated() { if let id = file.id { position[id] = index } }
        let rankings = [semantic, keyword].map { $0.compactMap { $0.file.id.flatMap { position[$0] } } }
        let files = snapshot.files
        let fused = fuse(rankings) { (files[$0].root, files[$0].path) < (files[$1].root, files[$1].path) }
        return fused.prefix(top).map { SearchHit(file: files[$0.index], score: Float($0.score)) }
    }

    /// Fuses rankings of file indices (best first) into (index, score), best first; equal
    /// scores in `tieOrder` order.
    public static func fuse(_ rankings: [[Int]], k: Int = HybridRanking.k, tieOrder: (Int, Int) -> Bool) -> [(index: Int, score: Double)] {
        var scores: [Int: Double] = [:]
        for ranking in rankings {
            for (position, index) in ranking.enumerated() {
                scores[index, default: 0] += 1 / Double(k + position + 1)
            }
        }
        return scores.map { (index: $0.key, score: $0.value) }.sorted {
            $0.score != $1.score ? $0.score > $1.score : tieOrder($0.index, $1.index)
        }
    }
}

extension PhotoLibrary {
    /// Searches `snapshot` (of this library) for `query` in `mode`, exactly. Semantic is
    /// `snapshot.search`. Keyword matches the positive text terms' words against the captions
    /// (score: −BM25, higher is better). Hybrid fuses the semantic ranking of the whole query
    /// and the keyword ranking of its texts, each to `HybridRanking.depth` (score: the RRF sum).
    /// `query.under` and `query.top` apply in every mode; keyword and hybrid need a captioned
    /// library and a text.
    public func search(_ query: SearchQuery, mode: SearchMode, snapshot: LibrarySnapshot, clip: CLIP?) throws -> [SearchHit] {
        try search(query, mode: mode, in: LibrarySearch(library: self, snapshot: snapshot, exact: true), clip: clip)
    }

    /// As above, the semantic ranking from `search` (exact, or its approximate index).
    public func search(_ query: SearchQuery, mode: SearchMode, in search: LibrarySearch, clip: CLIP?) throws -> [SearchHit] {
        guard mode != .semantic else { return try search.search([query], clip: clip)[0] }
        let texts = query.terms.compactMap { term, weight -> String? in
            if case .text(let text) = term, weight > 0 { return text }
            return nil
        }
        let words = try keywords(texts, mode: mode, top: query.top)
        let snapshot = search.snapshot
        guard mode == .hybrid else { return try keywordRanking(words, top: query.top, under: query.under, snapshot: snapshot) }
        var deep = query
        deep.top = HybridRanking.depth(top: query.top)
        let semantic = try search.search([deep], clip: clip)[0]
        let keyword = try keywordRanking(words, top: deep.top, under: query.under, snapshot: snapshot)
        return HybridRanking.fuse(semantic: semantic, keyword: keyword, top: query.top, snapshot: snapshot)
    }

    /// The keyword query of a keyword or hybrid search for `texts`, after checking that the
    /// library is captioned and that there is a text.
    public func keywords(_ texts: [String], mode: SearchMode, top: Int) throws -> KeywordQuery {
        guard (1 ... Limits.searchResults).contains(top) else {
            throw GlimpseError.invalidArgument("top must be 1 to \(Limits.searchResults), got \(top)")
        }
        guard try catalogue.captionModel() != nil else {
            throw GlimpseError.invalidArgument("the library \(folder) has no captions, so no \(mode.rawValue) search: "
                + "index it with --captions BLIP_MODEL first (the photos are captioned, not embedded again)")
        }
        guard !texts.isEmpty else {
            throw GlimpseError.invalidArgument("\(mode.rawValue) search matches words of the captions: give a text to search for")
        }
        return KeywordQuery(texts.joined(separator: " "))
    }

    /// The files of `snapshot` whose caption matches `words`, best BM25 first (equal scores in
    /// path order), at most `top`, only under `under` when given.
    public func keywordRanking(_ words: KeywordQuery, top: Int, under: String?, snapshot: LibrarySnapshot) throws -> [SearchHit] {
        let matches = try catalogue.keywordMatches(words)
        guard !matches.isEmpty else { return [] }
        let allowed = under.map { snapshot.allowedRows(under: $0) }
        var byContent: [String: [Int]] = [:]
        for (index, file) in snapshot.files.enumerated() where allowed.map({ $0[file.slot] }) ?? true {
            byContent[file.sha256, default: []].append(index)
        }
        var hits: [(bm25: Double, index: Int)] = []
        for match in matches { for index in byContent[match.sha256] ?? [] { hits.append((match.bm25, index)) } }
        let files = snapshot.files
        hits.sort { $0.bm25 != $1.bm25 ? $0.bm25 < $1.bm25 : (files[$0.index].root, files[$0.index].path) < (files[$1.index].root, files[$1.index].path) }
        return hits.prefix(top).map { SearchHit(file: files[$0.index], score: Float(-$0.bm25)) }
    }
}
