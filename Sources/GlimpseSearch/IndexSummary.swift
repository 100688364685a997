/// What an indexing run did, file by file counted once.
public struct IndexSummary: Sendable {
    /// Photo files found in the walked folders.
    public var photos = 0
    /// Other regular files, skipped.
    public var otherFiles = 0
    /// Catalogued before, same size and modification time: nothing to do.
    public var unchanged = 0
    /// Embedded by the model in this run.
    public var embedded = 0
    /// Found at a new place with the content of a catalogued file that is gone from its old
    /// place: the row moves, the embedding stays.
    public var moved = 0
    /// New files with the content of a catalogued file still in place: its embedding is copied.
    public var copied = 0
    /// Same content, new size or modification time (touched, rewritten identically).
    public var touched = 0
    /// Catalogued files gone from the walked folders, removed from the catalogue.
    public var removed = 0
    /// Files that failed in this run (recorded with the reason).
    public var failed = 0
    /// Unchanged files that failed in an earlier run, not retried.
    public var failedBefore = 0
    /// Catalogue rows whose embedding was missing from a truncated embeddings file, dropped
    /// so that their files are embedded again.
    public var repaired = 0
    /// Contents captioned in this run (with a captioning model; copies share a caption).
    public var captioned = 0
    /// Catalogued photos left without a caption: unreadable or changed when captioned.
    public var uncaptioned = 0
    /// The failures of this run.
    public var failures: [CatalogueFailure] = []
    /// Folders not walked, and why: unreadable, nested too deep, or reached a second time
    /// through a symbolic link (a loop).
    public var skippedFolders: [(path: String, reason: String)] = []

    public init() {}
}

/// How far the embedding part of a run is.
public struct IndexProgress: Sendable {
    public var done: Int
    public var total: Int
    public var seconds: Double
    /// Files per second so far.
    public var rate: Double { seconds > 0 ? Double(done) / seconds : 0 }
    /// Seconds left at the rate so far.
    public var remaining: Double? { done > 0 && rate > 0 ? Double(total - done) / rate : nil }
}
