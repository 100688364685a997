import Foundation
import GlimpseBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a chunk's files are written before they are committed: `OUT/.staging/NAME` for a
/// file that will be `OUT/NAME`. `commit()` syncs every file, renames it into place and syncs
/// the folders, so a chunk's files are either all there, complete, or (when the process dies
/// first) left in staging, which the next run empties. Names are relative paths made by the
/// job, checked to stay inside the output folder.
public final class BulkStaging {
    public let folder: String
    let staging: String
    private var files: [BulkFile] = []

    init(folder: String) {
        self.folder = folder
        staging = (folder as NSString).appendingPathComponent(BulkFolder.staging)
    }

    /// A new file that becomes `OUT/name` when the chunk is committed.
    public func create(_ name: String) throws -> BulkFile {
        try Self.checkName(name)
        guard !files.contains(where: { $0.name == name }) else {
            throw GlimpseError.invalidArgument("the bulk job wrote \(name) twice in one chunk")
        }
        let path = (staging as NSString).appendingPathComponent(name)
        try Self.makeFolders(for: name, under: staging)
        let file = try BulkFile(name: name, path: path)
        files.append(file)
        return file
    }

    /// The names of the files created so far, in order.
    public var names: [String] { files.map(\.name) }

    /// Syncs, renames into place, syncs the folders; returns the committed names.
    func commit() throws -> [String] {
        var folders: Set<String> = []
        for file in files {
            try file.sync()
            try Self.makeFolders(for: file.name, under: folder)
            let target = (folder as NSString).appendingPathComponent(file.name)
            guard rename(file.path, target) == 0 else { throw BulkFile.failure(target, "cannot be moved into place") }
            folders.insert((target as NSString).deletingLastPathComponent)
        }
        for path in folders.sorted() { try Self.syncFolder(path) }
        let names = self.names
        files = []
        return names
    }

    /// Drops everything staged (files never committed) and recreates an empty staging folder.
    func reset() throws {
        files = []
        try Self.removeTree(staging)
        try Self.makeFolder(staging)
    }

    /// Removes the staging folder (at the end of a run).
    func remove() throws {
        files = []
        try Self.removeTree(staging)
    }

    /// Relative, no `..`, no empty or `.` parts, no NUL: it stays inside the output folder.
    static func checkName(_ name: String) throws {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.hasPrefix("/"), !name.utf8.contains(0), !parts.isEmpty,
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), parts.first != Substring(BulkFolder.staging) else {
            throw GlimpseError.invalidArgument("bulk output name '\(name)' is not a plain relative path inside the output folder")
        }
    }

    /// The folders above `name` inside `root`, created as real folders (a link is refused, so
    /// nothing is written through it to somewhere else).
    static func makeFolders(for name: String, under root: String) throws {
        var path = root
        for part in name.split(separator: "/").dropLast() {
            path = (path as NSString).appendingPathComponent(String(part))
            try makeFolder(path)
        }
    }

    /// `path` as a real folder: created if missing, refused if it is a link or anything else.
    static func makeFolder(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw GlimpseError.invalidFile(path: path, reason: "is not a folder (a link or a file is in the way of the bulk output)")
            }
            return
        }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw BulkFile.failure(path, "cannot be created as a folder") }
    }

    static func syncFolder(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BulkFile.failure(path, "cannot be opened to sync") }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else { throw BulkFile.failure(path, "cannot be synced to disk") }
    }

    /// Removes a staging tree without following links out of it.
    static func removeTree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for entry in entries { try removeTree((path as NSString).appendingPathComponent(entry)) }
            guard rmdir(path) == 0 else { throw BulkFile.failure(path, "cannot be removed") }
        } else {
            guard unlink(path) == 0 else { throw BulkFile.failure(path, "cannot be removed") }
        }
    }
}
