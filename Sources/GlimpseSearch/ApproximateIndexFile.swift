#if canImport(CFaissShim)
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The approximate index a library keeps beside its embeddings (`approximate.faiss`), with a
/// stamp (`approximate.json`) saying which snapshot it was built from. Building one over a
/// large library takes minutes, so `glimpse index` builds it once and `search` and `serve`
/// load it; a stamp that no longer matches the catalogue (photos added, removed, changed)
/// or a file whose checksum is not the stamp's means the index is not used.
public struct ApproximateIndexFile: Sendable {
    /// What a stamp records.
    struct Stamp: Codable, Equatable {
        var description: String
        var parameter: String
        var value: Double
        var count: Int
        var fingerprint: String
        var bytes: Int64
        var sha256: String
    }

    public let library: PhotoLibrary

    public init(library: PhotoLibrary) { self.library = library }

    var indexPath: String { (library.folder as NSString).appendingPathComponent(PhotoLibrary.approximateIndexName) }
    var stampPath: String { (library.folder as NSString).appendingPathComponent(PhotoLibrary.approximateStampName) }

    /// The FAISS index for `count` photos, and the search parameter that gives recall@10
    /// ≥ 0.95 on CLIP-like (clustered) embeddings: HNSW while it builds in seconds, then
    /// IVF with about √count lists, a sixteenth of them probed.
    public static func recipe(count: Int) -> (description: String, parameter: String, value: Double) {
        if count < 50_000 { return ("HNSW32,Flat", "efSearch", 64) }
        var lists = 256
        while lists < 4096 && lists * lists * 2 < count { lists *= 2 }
        return ("IVF\(lists),Flat", "nprobe", Double(max(16, lists / 16)))
    }

    /// Names the snapshot's rows: the index's row i is `files[i]`, whose embedding is fixed
    /// by its slot and its content.
    static func fingerprint(_ snapshot: LibrarySnapshot) -> String {
        var hash = SHA256()
        hash.update(data: Data("\(snapshot.model.fingerprint) \(snapshot.model.dimension)\n".utf8))
        for file in snapshot.files { hash.update(data: Data("\(file.slot) \(file.sha256)\n".utf8)) }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Builds, keeps or removes the index so that it matches `snapshot` under `policy`.
    /// Returns the index when there is one afterwards.
    @discardableResult
    public func refresh(_ snapshot: LibrarySnapshot, policy: ApproximatePolicy,
                        building: (String) -> Void = { _ in }) throws -> ApproximateIndex? {
        let wanted = snapshot.files.count > 0 && (policy == .always || (policy == .auto && snapshot.files.count >= ApproximatePolicy.threshold))
        guard wanted else { try remove(); return nil }
        if let current = try open(snapshot) { return current }
        let recipe = Self.recipe(count: snapshot.files.count)
        building(recipe.description)
        let index = try ApproximateIndex(snapshot: snapshot, description: recipe.description)
        try index.set(recipe.parameter, recipe.value)
        // The old stamp goes first, so that no moment pairs it with the new file.
        try remove()
        let partial = indexPath + ".partial"
        unlink(partial)
        try index.save(to: partial)
        let (bytes, sha256) = try Self.checksum(partial)
        try Self.sync(partial)
        try Self.move(partial, to: indexPath)
        let stamp = Stamp(description: recipe.description, parameter: recipe.parameter, value: recipe.value,
                          count: snapshot.files.count, fingerprint: Self.fingerprint(snapshot), bytes: bytes, sha256: sha256)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Data(try encoder.encode(stamp)).write(to: URL(fileURLWithPath: stampPath + ".partial"))
        try Self.sync(stampPath + ".partial")
        try Self.move(stampPath + ".partial", to: stampPath)
        try Self.sync(library.folder)
        return index
    }

    /// The library's index if it was built from exactly `snapshot`'s rows and its file is the
    /// one the stamp describes; nil when there is none or it is out of date.
    public func open(_ snapshot: LibrarySnapshot) throws -> ApproximateIndex? {
        guard let size = Self.regularFileSize(stampPath), size <= 4096,
              let data = FileManager.default.contents(atPath: stampPath),
              let stamp = try? JSONDecoder().decode(Stamp.self, from: data),
              stamp.count == snapshot.files.count, stamp.fingerprint == Self.fingerprint(snapshot),
              Self.regularFileSize(indexPath) == stamp.bytes
        else { return nil }
        // FAISS trusts what it reads; only a file whose checksum is the stamp's reaches it.
        guard try Self.checksum(indexPath).sha256 == stamp.sha256 else { return nil }
        let index = try ApproximateIndex(loading: indexPath, snapshot: snapshot, description: stamp.description)
        try index.set(stamp.parameter, stamp.value)
        return index
    }

    /// Removes the stamp and the index.
    public func remove() throws {
        for path in [stampPath, indexPath] where unlink(path) != 0 && errno != ENOENT {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be removed (\(String(cString: strerror(errno))))")
        }
    }

    /// The size of a regular file (not followed through a link), nil for anything else.
    static func regularFileSize(_ path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    static func checksum(_ path: String) throws -> (bytes: Int64, sha256: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        var bytes: Int64 = 0
        while let piece = try handle.read(upToCount: 1 << 22), !piece.isEmpty {
            bytes += Int64(piece.count)
            hash.update(data: piece)
        }
        return (bytes, hash.finalize().map { String(format: "%02x", $0) }.joined())
    }

    static func sync(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GlimpseError.invalidFile(path: path, reason: "cannot be opened to sync") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw GlimpseError.invalidFile(path: path, reason: "cannot be synced to disk") }
    }

    static func move(_ from: String, to path: String) throws {
        guard rename(from, path) == 0 else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be moved into place (\(String(cString: strerror(errno))))")
        }
    }
}
#endif
