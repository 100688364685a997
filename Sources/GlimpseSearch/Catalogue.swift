import Foundation
import GRDB

/// The catalogue of a photo library: an SQLite database (through GRDB, schema by migrations)
/// of the files, the failures and the model. Write-ahead logging with full synchronisation, so
/// a committed transaction survives a crash and readers (search) never wait for the indexer.
public final class Catalogue: Sendable {
    public let path: String
    let database: DatabasePool

    /// Opens (creating when missing) and migrates the catalogue at `path`. A file that is not
    /// an SQLite database, or one whose tables are not a catalogue's, is an error naming it.
    public init(path: String) throws {
        self.path = path
        if case .other(let what) = InputFile.kind(of: path) {
            throw GlimpseError.invalidFile(path: path, reason: "is \(what), not a catalogue")
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(10)
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw Self.describe(error, path: path)
        }
    }

    /// The schema, one migration per version; never edit a shipped one, add another.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "library") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("modelID", .text).notNull()
                t.column("revision", .text)
                t.column("fingerprint", .text).notNull()
                t.column("dimension", .integer).notNull()
                // Rows of the embeddings file that committed rows may point at.
                t.column("slotCount", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "files") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("root", .text).notNull()
                t.column("path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("mtime", .integer).notNull()
                t.column("sha256", .text).notNull().indexed()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("takenAt", .text)
                t.column("slot", .integer).notNull().unique()
                t.uniqueKey(["root", "path"])
            }
            try db.create(table: "errors") { t in
                t.column("root", .text).notNull()
                t.column("path", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("mtime", .integer).notNull()
                t.column("reason", .text).notNull()
                t.primaryKey(["root", "path"])
            }
        }
        migrator.registerMigration("captions", migrate: CaptionIndex.migrate)
        registerImportMigration(&migrator)
        return migrator
    }

    /// A GRDB or SQLite error as a GlimpseError naming the catalogue.
    static func describe(_ error: any Error, path: String) -> GlimpseError {
        if let error = error as? GlimpseError { return error }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB:
                return .invalidFile(path: path, reason: "is not an SQLite database, so not a photo library catalogue")
            case .SQLITE_CORRUPT:
                return .invalidFile(path: path, reason: "is a damaged SQLite database (\(error.message ?? "corrupt"))")
            case .SQLITE_CANTOPEN:
                return .invalidFile(path: path, reason: "cannot be opened as a database (\(error.message ?? "cannot open"))")
            default:
                return .invalidFile(path: path, reason: "catalogue error: \(error.message ?? "\(error.resultCode)")")
            }
        }
        return .invalidFile(path: path, reason: "catalogue error: \(error)")
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch { throw Self.describe(error, path: path) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch { throw Self.describe(error, path: path) }
    }

    // MARK: The model and the slot count

    /// The model the library was built with, or nil for a new library.
    public func model() throws -> LibraryModel? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT modelID, revision, fingerprint, dimension FROM library WHERE id = 1") else {
                return nil
            }
            let dimension: Int = row["dimension"]
            guard (1 ... Limits.configDimension).contains(dimension) else {
                throw GlimpseError.invalidFile(path: path, reason: "says the embeddings have \(dimension) dimensions (expected 1 to \(Limits.configDimension))")
            }
            return LibraryModel(id: row["modelID"], revision: row["revision"], fingerprint: row["fingerprint"], dimension: dimension)
        }
    }

    /// Records the model of a new library; a library with another model refuses (no change).
    public func adopt(_ model: LibraryModel) throws {
        if let existing = try self.model() {
            try existing.requireSame(model, library: (path as NSString).deletingLastPathComponent)
            return
        }
        try write { db in
            try db.execute(sql: "INSERT INTO library (id, modelID, revision, fingerprint, dimension, slotCount) VALUES (1, ?, ?, ?, ?, 0)",
                           arguments: [model.id, model.revision, model.fingerprint, model.dimension])
        }
    }

    /// Rows of the embeddings file that the catalogue may point at.
    public func slotCount() throws -> Int {
        try read { try Self.slotCount($0, path: path) }
    }

    static func slotCount(_ db: Database, path: String) throws -> Int {
        let count = try Int.fetchOne(db, sql: "SELECT slotCount FROM library WHERE id = 1") ?? 0
        guard (0 ... Limits.libraryFiles).contains(count) else {
            throw GlimpseError.invalidFile(path: path, reason: "claims \(count) embeddings (expected 0 to \(Limits.libraryFiles))")
        }
        return count
    }

    // MARK: Files and failures

    /// Every catalogued file, in path order; each slot checked to lie below the slot count.
    public func files() throws -> [CatalogueFile] {
        try read { db in
            let count = try Self.slotCount(db, path: path)
            let files = try CatalogueFile.fetchAll(db, sql: "SELECT * FROM files ORDER BY root, path")
            if let bad = files.first(where: { !(0 ..< count).contains($0.slot) }) {
                throw GlimpseError.invalidFile(path: path, reason: "row for \(bad.fullPath) points at embedding \(bad.slot), outside the \(count) the catalogue holds")
            }
            return files
        }
    }

    /// The catalogued file with this id, if any.
    public func file(id: Int64) throws -> CatalogueFile? {
        try read { try CatalogueFile.fetchOne($0, key: id) }
    }

    /// Every recorded failure, in path order.
    public func failures() throws -> [CatalogueFailure] {
        try read { try CatalogueFailure.fetchAll($0, sql: "SELECT * FROM errors ORDER BY root, path") }
    }

    /// Applies one step of an indexing run in a single transaction: rows removed first (so
    /// their places and slots can be taken), then rows written, failures recorded or cleared,
    /// and the slot count raised to cover every slot written.
    func commit(_ change: CatalogueChange) throws {
        try write { db in
            for id in change.removedFiles { try CatalogueFile.deleteOne(db, key: id) }
            for key in change.clearedFailures {
                try db.execute(sql: "DELETE FROM errors WHERE root = ? AND path = ?", arguments: [key.root, key.path])
            }
            for var file in change.files {
                try db.execute(sql: "DELETE FROM files WHERE root = ? AND path = ?", arguments: [file.root, file.path])
                try db.execute(sql: "DELETE FROM errors WHERE root = ? AND path = ?", arguments: [file.root, file.path])
                file.id = nil
                try file.insert(db)
            }
            for failure in change.failures { try failure.save(db, onConflict: .replace) }
            for touch in change.touched {
                try db.execute(sql: "UPDATE files SET size = ?, mtime = ? WHERE id = ?", arguments: [touch.size, touch.mtime, touch.id])
            }
            if let slots = change.slotCount {
                try db.execute(sql: "UPDATE library SET slotCount = MAX(slotCount, ?) WHERE id = 1", arguments: [slots])
            }
            if let slots = change.lowerSlotCount {
                try db.execute(sql: "UPDATE library SET slotCount = ? WHERE id = 1", arguments: [slots])
            }
            try CaptionIndex.apply(change.captions, db)
        }
    }
}

/// One transaction of an indexing run.
struct CatalogueChange {
    var removedFiles: [Int64] = []
    var clearedFailures: [FileKey] = []
    /// Rows to write (inserted; a row at the same place is replaced).
    var files: [CatalogueFile] = []
    var failures: [CatalogueFailure] = []
    /// Same content, new size or time.
    var touched: [(id: Int64, size: Int64, mtime: Int64)] = []
    var slotCount: Int?
    /// Sets the slot count down (after finding the embeddings file shorter than it).
    var lowerSlotCount: Int?
    /// Captions of contents (SHA-256 → text); see `CaptionIndex`.
    var captions: [String: String] = [:]
}
