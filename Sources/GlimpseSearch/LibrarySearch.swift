import Foundation

/// When a library keeps an approximate index beside its embeddings.
public enum ApproximatePolicy: String, CaseIterable, Sendable {
    /// From `threshold` photos on: below that, exact search is a few milliseconds.
    case auto
    case always
    case never

    /// Photos from which `auto` builds an index: exact search over 100k 512-dim embeddings
    /// is one 200 MB pass, tens of milliseconds; past that, approximate search pays.
    public static let threshold = 100_000
}

/// What a search runs on: a snapshot of the library, and the library's approximate index
/// when one is current for that snapshot (see `ApproximateIndexFile`). Queries go to the
/// approximate index when there is one, except those limited to a folder, which stay exact
/// so that they always return their `top` results.
public final class LibrarySearch: Sendable {
    public let snapshot: LibrarySnapshot
    #if canImport(CFaissShim)
    public let approximate: ApproximateIndex?
    #endif

    /// With `exact`, the approximate index is not loaded.
    public init(library: PhotoLibrary, snapshot: LibrarySnapshot, exact: Bool = false) throws {
        self.snapshot = snapshot
        #if canImport(CFaissShim)
        approximate = exact ? nil : try ApproximateIndexFile(library: library).open(snapshot)
        #endif
    }

    /// The approximate index's FAISS description, nil for exact search.
    public var approximateDescription: String? {
        #if canImport(CFaissShim)
        approximate?.description
        #else
        nil
        #endif
    }

    /// Builds, keeps or removes the library's approximate index to match `snapshot` under
    /// `policy` (see `ApproximateIndexFile.refresh`); `building` is told the FAISS
    /// description before a build starts. Returns the description of the index kept, if any.
    @discardableResult
    public static func refresh(library: PhotoLibrary, snapshot: LibrarySnapshot, policy: ApproximatePolicy,
                               building: (String) -> Void = { _ in }) throws -> String? {
        #if canImport(CFaissShim)
        return try ApproximateIndexFile(library: library).refresh(snapshot, policy: policy, building: building)?.description
        #else
        if policy == .always { throw GlimpseError.unsupported("approximate search needs FAISS, which this build does not include") }
        return nil
        #endif
    }

    /// The best `top` files for each query, best first.
    public func search(_ queries: [SearchQuery], clip: CLIP?) throws -> [[SearchHit]] {
        #if canImport(CFaissShim)
        if let approximate {
            let folderless = queries.indices.filter { queries[$0].under == nil }
            let exact = queries.indices.filter { queries[$0].under != nil }
            var results = [[SearchHit]](repeating: [], count: queries.count)
            for (i, hits) in zip(folderless, try approximate.search(folderless.map { queries[$0] }, clip: clip)) { results[i] = hits }
            if !exact.isEmpty {
                for (i, hits) in zip(exact, try snapshot.search(exact.map { queries[$0] }, clip: clip)) { results[i] = hits }
            }
            return results
        }
        #endif
        return try snapshot.search(queries, clip: clip)
    }
}
