import Foundation

/// Makes `snapshots/<commit>/` of one repository hold the files a model needs, the way
/// `hf_hub_download` would, and returns that folder.
///
/// Online, one HEAD on the first required file tells the commit the revision points to;
/// files already in that commit's snapshot are not asked for again (a commit never changes),
/// nor are files recorded as absent in `.no_exist/`. If the Hub cannot be reached (or
/// answers 5xx, 401 or 403), the snapshot the cache's `refs/` point to is used when it is
/// complete. A full commit hash whose snapshot is complete needs no network at all; offline,
/// nothing but the cache is read.
struct HubSnapshot {
    let model: HubModelID
    let environment: HubEnvironment
    let cache: HubCache
    let progress: DownloadProgressHandler?
    private let http: HubHTTP

    init(model: HubModelID, environment: HubEnvironment, progress: DownloadProgressHandler?) {
        self.model = model
        self.environment = environment
        self.progress = progress
        cache = HubCache(root: environment.cache, model: model)
        http = HubHTTP(environment: environment)
    }

    /// A file the cache lacks, when only the cache may be used.
    private struct NotCached: Error { let file: String }

    func failure(_ reason: HubFailure.Reason) -> GlimpseError { .hub(HubFailure(model: model.description, reason: reason)) }

    func fetch(_ files: ModelFiles) throws -> URL {
        try environment.validate()
        for file in files.required + files.optional + files.choices.flatMap({ $0.alternatives.joined() }) where !HubReplyCheck.isRepositoryPath(file) {
            throw GlimpseError.invalidArgument("'\(file)' is not a file path inside a repository")
        }
        if environment.offline {
            guard let commit = cache.commit(for: model.revision) else {
                throw failure(.notCached(file: nil, location: environment.cache.path))
            }
            do { try collect(files, commit: commit, metadata: [:], cacheOnly: true) } catch let missing as NotCached {
                throw failure(.notCached(file: missing.file, location: cache.snapshot(commit).path))
            }
            return cache.snapshot(commit)
        }
        if model.isCommitHash, (try? collect(files, commit: model.revision, metadata: [:], cacheOnly: true)) != nil {
            return cache.snapshot(model.revision)
        }

        let first = files.required.first ?? "config.json"
        let metadata: HubFileMetadata
        do {
            let url = try HubFileMetadata.resolveURL(endpoint: environment.endpoint, model: model, revision: model.revision, file: first)
            metadata = try HubFileMetadata.fetch(url, file: first, http: http)
        } catch let failure as HubReplyFailure {
            if failure.allowsCacheFallback, let commit = cache.commit(for: model.revision),
               (try? collect(files, commit: commit, metadata: [:], cacheOnly: true)) != nil {
                return cache.snapshot(commit)
            }
            throw failure.error(model: model, file: first, environment: environment)
        }
        try collect(files, commit: metadata.commit, metadata: [first: metadata], cacheOnly: false)
        // Only a commit whose files all arrived is recorded (and it was validated on arrival).
        try? cache.writeRef(model.revision, commit: metadata.commit)
        return cache.snapshot(metadata.commit)
    }

    /// Ensures every needed file is in the snapshot, choosing among alternatives: a set
    /// already complete in the cache wins (no download), else the first set the Hub has.
    private func collect(_ files: ModelFiles, commit: String, metadata: [String: HubFileMetadata], cacheOnly: Bool) throws {
        func need(_ file: String) throws {
            guard try obtain(file, commit: commit, metadata: metadata[file], cacheOnly: cacheOnly) else {
                if cacheOnly { throw NotCached(file: file) }
                throw failure(.fileNotFound(file: file, commit: commit))
            }
        }
        for file in files.required { try need(file) }
        for file in files.optional { _ = try obtain(file, commit: commit, metadata: metadata[file], cacheOnly: cacheOnly) }
        for choice in files.choices {
            var chosen = choice.alternatives.first { set in set.allSatisfy { cache.has(commit, $0) } }
            if chosen == nil, !cacheOnly {
                for set in choice.alternatives where try set.allSatisfy({ try obtain($0, commit: commit, metadata: nil, cacheOnly: false) }) {
                    chosen = set
                    break
                }
            }
            guard let chosen else {
                if choice.required {
                    if cacheOnly { throw NotCached(file: choice.listing) }
                    throw failure(.noneOfAlternatives(listing: choice.listing))
                }
                continue
            }
            for index in chosen where index.hasSuffix(".index.json") {
                for shard in try ModelFiles.shards(ofIndex: cache.pointer(commit, index)) { try need(shard) }
            }
        }
    }

    /// Whether `file` is (now) in the snapshot: already there, known absent, or downloaded.
    private func obtain(_ file: String, commit: String, metadata known: HubFileMetadata?, cacheOnly: Bool) throws -> Bool {
        if cache.has(commit, file) { return true }
        if cache.isKnownAbsent(commit, file) || cacheOnly { return false }
        let metadata: HubFileMetadata
        do {
            if let known { metadata = known } else {
                let url = try HubFileMetadata.resolveURL(endpoint: environment.endpoint, model: model, revision: commit, file: file)
                metadata = try HubFileMetadata.fetch(url, file: file, http: http)
            }
        } catch HubReplyFailure.entryNotFound(let reported) {
            cache.markAbsent(reported ?? commit, file)
            return false
        } catch let failure as HubReplyFailure {
            throw failure.error(model: model, file: file, environment: environment)
        }
        guard metadata.commit == commit else {
            throw failure(.revisionMoved(file: file, commit: metadata.commit, expected: commit))
        }
        cache.tagAsCache()
        do {
            try cache.withLock(etag: metadata.etag) {
                let blob = try cache.checked(cache.blob(metadata.etag))
                if !FileManager.default.fileExists(atPath: blob.path) {
                    try BlobDownload(http: http, metadata: metadata, file: file, destination: blob, progress: progress).run()
                }
                try cache.link(blob: metadata.etag, as: file, commit: commit)
            }
        } catch let failure as HubReplyFailure {
            throw failure.error(model: model, file: file, environment: environment)
        }
        return true
    }
}
