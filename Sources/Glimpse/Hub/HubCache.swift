import Foundation

/// One repository's folder in the Hugging Face cache, laid out as `huggingface_hub` writes it:
///
///     models--ORG--NAME/
///       blobs/<etag>                       file contents, named by ETag (sha256 for LFS files)
///       snapshots/<commit>/<file>          relative symlinks into blobs/
///       refs/<branch>                      the commit a branch or tag pointed to when last seen
///       .no_exist/<commit>/<file>          empty markers for files known to be absent
///
/// plus `.locks/models--ORG--NAME/<etag>.lock` beside it, so that Python and Glimpse share
/// one cache and never download the same file twice.
///
/// Commits and blob names come from a server: they are validated where they are read
/// (`HubReplyCheck`), and every path written is checked once more to stay inside
/// `models--ORG--NAME` (or its lock folder), symlinks resolved, before anything is created.
public struct HubCache: Sendable {
    public let root: URL
    public let repoFolder: URL
    let lockFolder: URL
    let model: String

    public init(root: URL, model: HubModelID) {
        self.root = root
        self.model = model.description
        repoFolder = root.appendingPathComponent(model.cacheFolderName, isDirectory: true)
        lockFolder = root.appendingPathComponent(".locks", isDirectory: true).appendingPathComponent(model.cacheFolderName)
    }

    public func snapshot(_ commit: String) -> URL {
        repoFolder.appendingPathComponent("snapshots", isDirectory: true).appendingPathComponent(commit, isDirectory: true)
    }

    func pointer(_ commit: String, _ file: String) -> URL { snapshot(commit).appendingPathComponent(file) }
    func blob(_ etag: String) -> URL { repoFolder.appendingPathComponent("blobs").appendingPathComponent(etag) }
    func noExistMarker(_ commit: String, _ file: String) -> URL {
        repoFolder.appendingPathComponent(".no_exist").appendingPathComponent(commit).appendingPathComponent(file)
    }

    /// A file of the snapshot, present and readable (a dangling symlink does not count).
    func has(_ commit: String, _ file: String) -> Bool {
        FileManager.default.fileExists(atPath: pointer(commit, file).path)
    }

    func isKnownAbsent(_ commit: String, _ file: String) -> Bool {
        FileManager.default.fileExists(atPath: noExistMarker(commit, file).path)
    }

    /// Best effort, like Python: a read-only cache must not stop a model from loading.
    func markAbsent(_ commit: String, _ file: String) {
        guard HubModelID.isCommitHash(commit), let marker = try? checked(noExistMarker(commit, file)) else { return }
        try? FileManager.default.createDirectory(at: marker.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: marker.path) {
            _ = FileManager.default.createFile(atPath: marker.path, contents: Data())
        }
    }

    /// The commit a revision stands for, from the cache alone: a commit hash is itself,
    /// a branch or tag is looked up in refs/.
    public func commit(for revision: String) -> String? {
        if HubModelID.isCommitHash(revision) { return revision }
        let ref = repoFolder.appendingPathComponent("refs").appendingPathComponent(revision)
        guard let text = try? InputFile.text(ref.path, what: "cache ref", limit: 4096) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return HubModelID.isCommitHash(commit) ? commit : nil
    }

    /// Records which commit a branch or tag points to (atomically; Python writes the bare hash).
    func writeRef(_ revision: String, commit: String) throws {
        guard HubModelID.isCommitHash(commit) else { throw failure(repoFolder.path, "'\(commit)' is not a commit hash") }
        guard revision != commit, self.commit(for: revision) != commit else { return }
        let ref = try checked(repoFolder.appendingPathComponent("refs").appendingPathComponent(revision))
        let temporary = ref.deletingLastPathComponent().appendingPathComponent(".\(ref.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(commit.utf8).write(to: temporary)
        } catch { throw failure(ref.path, error.localizedDescription) }
        guard rename(temporary.path, ref.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw failure(ref.path, String(cString: strerror(errno)))
        }
    }

    /// Points snapshots/<commit>/<file> at the blob with a relative symlink, as Python does,
    /// so the cache stays valid when moved. Made under a temporary name and renamed into
    /// place, so a reader never sees a half-made entry.
    func link(blob etag: String, as file: String, commit: String) throws {
        let pointer = try checked(self.pointer(commit, file))
        let manager = FileManager.default
        do { try manager.createDirectory(at: pointer.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw failure(pointer.deletingLastPathComponent().path, error.localizedDescription)
        }
        let depth = file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        let temporary = pointer.deletingLastPathComponent().appendingPathComponent(".\(pointer.lastPathComponent).\(UUID().uuidString).tmp")
        guard symlink(target, temporary.path) == 0, rename(temporary.path, pointer.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? manager.removeItem(at: temporary)
            throw failure(pointer.path, reason)
        }
    }

    /// Marks the cache root with the standard CACHEDIR.TAG (https://bford.info/cachedir/), as
    /// huggingface_hub does, so backup tools skip it. Best effort.
    func tagAsCache() {
        let tag = root.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag (Hugging Face hub cache).\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try? Data(text.utf8).write(to: tag, options: .atomic)
    }

    /// Runs `body` holding an exclusive advisory lock (flock) on `.locks/…/<etag>.lock`, the
    /// file huggingface_hub locks, so concurrent downloads of one blob wait for each other.
    func withLock<T>(etag: String, _ body: () throws -> T) throws -> T {
        do { try FileManager.default.createDirectory(at: lockFolder, withIntermediateDirectories: true) } catch {
            throw failure(lockFolder.path, error.localizedDescription)
        }
        let path = try checked(lockFolder.appendingPathComponent("\(etag).lock"), within: lockFolder).path
        let fd = open(path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw failure(path, "cannot open the lock file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw failure(path, "cannot lock: \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// `url` when it lies inside `folder` (the repository folder by default): `.` and `..`
    /// resolved, and the symlinks of the part that exists already, compared with the folder
    /// resolved the same way. Anything else is refused before it is created.
    func checked(_ url: URL, within folder: URL? = nil) throws -> URL {
        let base = (folder ?? repoFolder).standardizedFileURL
        let target = url.standardizedFileURL
        guard target.path.hasPrefix(base.path + "/") else {
            throw failure(url.path, "the path leaves \(base.path)")
        }
        var existing = target.deletingLastPathComponent()
        while existing.path.count > 1, !FileManager.default.fileExists(atPath: existing.path) { existing = existing.deletingLastPathComponent() }
        let resolvedBase = base.resolvingSymlinksInPath().path
        let resolved = existing.resolvingSymlinksInPath().path
        guard resolved == resolvedBase || resolved.hasPrefix(resolvedBase + "/") || base.path.hasPrefix(existing.path + "/") else {
            throw failure(url.path, "the path leads through a link out of \(base.path)")
        }
        return target
    }

    func failure(_ path: String, _ detail: String) -> GlimpseError {
        .hub(HubFailure(model: model, reason: .cacheNotWritable(path: path, detail: detail)))
    }
}
