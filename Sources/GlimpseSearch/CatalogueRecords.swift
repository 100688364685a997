import Foundation
import GRDB

/// One catalogued photo: where it is, what it was when embedded (size, modification time,
/// content hash) and which row of the embeddings file holds its embedding.
public struct CatalogueFile: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "files"

    public var id: Int64?
    /// The indexed folder, absolute.
    public var root: String
    /// The file's path inside `root`, "/"-separated.
    public var path: String
    public var size: Int64
    /// Modification time in nanoseconds since 1970.
    public var mtime: Int64
    /// SHA-256 of the file's bytes, lowercase hex: how a moved or copied file is recognised.
    public var sha256: String
    /// Pixel size as decoded (after the EXIF orientation is applied).
    public var width: Int
    public var height: Int
    /// EXIF DateTimeOriginal as written in the file ("YYYY:MM:DD HH:MM:SS"), if any.
    public var takenAt: String?
    /// Row of the embeddings file.
    public var slot: Int

    public init(id: Int64? = nil, root: String, path: String, size: Int64, mtime: Int64, sha256: String,
                width: Int, height: Int, takenAt: String?, slot: Int) {
        self.id = id
        self.root = root
        self.path = path
        self.size = size
        self.mtime = mtime
        self.sha256 = sha256
        self.width = width
        self.height = height
        self.takenAt = takenAt
        self.slot = slot
    }

    /// The absolute path of the file; for a record imported from elsewhere that is no file
    /// here (`isLocal` false), its URL or key as the embedding job recorded it.
    public var fullPath: String { root.isEmpty ? path : (root as NSString).appendingPathComponent(path) }

    /// Whether the row is a file on this machine (indexed, or imported with a local path),
    /// rather than an imported record known only by its URL or key: only those are served.
    public var isLocal: Bool { !root.isEmpty }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Decoded by column position rather than through Codable: a library of 100,000 photos
    /// opens several times faster.
    public init(row: Row) throws {
        id = row["id"]
        root = row["root"]
        path = row["path"]
        size = row["size"]
        mtime = row["mtime"]
        sha256 = row["sha256"]
        width = row["width"]
        height = row["height"]
        takenAt = row["takenAt"]
        slot = row["slot"]
    }
}

/// A file that could not be catalogued, and why. Kept with the size and modification time
/// it had, so an unchanged bad file is not retried on every run.
public struct CatalogueFailure: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "errors"

    public var root: String
    public var path: String
    public var size: Int64
    public var mtime: Int64
    public var reason: String

    public init(root: String, path: String, size: Int64, mtime: Int64, reason: String) {
        self.root = root
        self.path = path
        self.size = size
        self.mtime = mtime
        self.reason = reason
    }

    public var fullPath: String { (root as NSString).appendingPathComponent(path) }
}

/// Where a file sits: its indexed folder and its path inside it.
public struct FileKey: Hashable, Sendable {
    public var root: String
    public var path: String

    public init(root: String, path: String) {
        self.root = root
        self.path = path
    }
}

extension CatalogueFile { var key: FileKey { FileKey(root: root, path: path) } }
extension CatalogueFailure { var key: FileKey { FileKey(root: root, path: path) } }
