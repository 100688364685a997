import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Brings embeddings made elsewhere into a library: the output folders of `glimpse embed`
/// (one per `--shard i/N` worker, written by Spark executors or any other machines), in
/// clip-retrieval's layout. Only chunks the folder's journal records as committed are read,
/// so a job still running or killed is imported as far as it got.
///
/// - The job's recorded model must be the library's (same fingerprint and dimension); a new
///   library takes it. A folder of another model is refused, naming both.
/// - Each chunk is checked whole first (`ImportedChunk`); a damaged one is reported and
///   skipped, the others still import.
/// - Rows go in batches, one transaction each, written to the embeddings file and synced
///   first, with the number of rows done per chunk in the same transaction: a run killed at
///   any point continues at the next row, and importing a folder again adds nothing. A record
///   already in the library at the same place (the same local file, URL or key) is counted as
///   a duplicate and not added again.
/// - Rows become catalogue files: a record whose image path is a file on this machine is
///   catalogued as that file (its size, time and SHA-256; served and thumbnailed like an
///   indexed one); any other is catalogued by its URL or key, searchable but never served.
public final class EmbeddingImporter {
    public let library: PhotoLibrary
    /// Rows per transaction.
    public var batchSize = 1024

    /// With `model`, the library takes it (when new) or must have it, and every folder must
    /// match it; without, the first folder's recorded model is taken by a new library.
    public init(library: PhotoLibrary, model: LibraryModel? = nil) throws {
        self.library = library
        if let model { try library.catalogue.adopt(model) }
    }

    /// Imports `folders` in order; failures of whole folders or of chunks are in the summary.
    public func importFolders(_ folders: [String], progress: ((IndexProgress) -> Void)? = nil) throws -> ImportSummary {
        var summary = ImportSummary()
        var plans: [(output: BulkOutput, chunks: [(chunk: BulkOutput.Chunk, done: Int)])] = []
        var total = 0
        var jobs: Set<String> = []
        for folder in folders {
            let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
            do {
                let output = try BulkOutput(folder: absolute)
                // The same job's folder again (or a copy of it) in this run: nothing more in it.
                guard jobs.insert(output.fingerprint).inserted else { summary.folders += 1; continue }
                try checkModel(output)
                let done = try library.catalogue.read { db in
                    try Row.fetchAll(db, sql: "SELECT chunk, rows, complete FROM importedChunks WHERE job = ?", arguments: [output.fingerprint])
                }
                var progressByChunk: [Int: (rows: Int, complete: Bool)] = [:]
                for row in done { progressByChunk[row["chunk"]] = (row["rows"], row["complete"]) }
                var chunks: [(chunk: BulkOutput.Chunk, done: Int)] = []
                for chunk in output.chunks {
                    summary.chunks += 1
                    if progressByChunk[chunk.index]?.complete == true { summary.chunksBefore += 1; continue }
                    chunks.append((chunk, progressByChunk[chunk.index]?.rows ?? 0))
                    // For the ETA: the rows the header says (checked again when the chunk is read).
                    if let names = ImportedChunk.files(chunk),
                       let matrix = try? NPY.Matrix(path: (absolute as NSString).appendingPathComponent(names.embeddings)) {
                        total += max(0, matrix.rows - (progressByChunk[chunk.index]?.rows ?? 0))
                    }
                }
                summary.folders += 1
                plans.append((output, chunks))
            } catch {
                summary.failures.append((absolute, "\(GlimpseError.wrap(error))"))
            }
        }
        guard let model = try library.catalogue.model() else { return summary }
        let store = try EmbeddingStore(path: library.embeddingsPath, dimension: model.dimension)
        var slots = try library.catalogue.read { db in
            SlotAllocator(count: try Catalogue.slotCount(db, path: library.catalogue.path), used: try Int.fetchAll(db, sql: "SELECT slot FROM files"))
        }
        let start = Date()
        var done = 0
        for (output, chunks) in plans {
            for (chunk, rowsDone) in chunks {
                let loaded: ImportedChunk
                do {
                    loaded = try ImportedChunk(folder: output.folder, chunk: chunk, dimension: model.dimension)
                    guard rowsDone <= loaded.rows else {
                        throw GlimpseError.invalidFile(path: output.folder, reason: "chunk \(chunk.index) has \(loaded.rows) rows, fewer than the \(rowsDone) already imported from it")
                    }
                } catch {
                    summary.failures.append((output.folder, "\(GlimpseError.wrap(error))"))
                    summary.failedChunks += 1
                    continue
                }
                for batchStart in stride(from: rowsDone, to: max(loaded.rows, rowsDone + 1), by: batchSize) {
                    let end = min(batchStart + batchSize, loaded.rows)
                    try importRows(loaded, batchStart ..< end, job: output, store: store, slots: &slots, summary: &summary)
                    done += end - batchStart
                    progress?(IndexProgress(done: done, total: max(total, done), seconds: Date().timeIntervalSince(start)))
                }
                summary.chunksImported += 1
            }
        }
        return summary
    }

    /// The folder's recorded model, checked against the library's (or taken by a new library).
    private func checkModel(_ output: BulkOutput) throws {
        if let kind = output.kind, kind == "text" {
            throw GlimpseError.invalidFile(path: output.folder, reason: "holds text embeddings only (embed --kind text); a photo library needs image embeddings")
        }
        guard let recorded = output.model else {
            throw GlimpseError.invalidFile(path: output.folder, reason: "records no model in its journal (written by an older glimpse embed); embed again to import it")
        }
        let model = LibraryModel(id: recorded.id, revision: recorded.revision, fingerprint: recorded.fingerprint, dimension: recorded.dimension)
        if let existing = try library.catalogue.model() {
            do {
                try existing.requireSame(model, library: library.folder)
            } catch {
                throw GlimpseError.invalidArgument("\(output.folder) cannot be imported: \(error)")
            }
        } else {
            try library.catalogue.adopt(model)
        }
    }

    /// One batch: new places get slots, their rows are written and synced, then one
    /// transaction adds the catalogue rows and moves the chunk's count of rows done.
    private func importRows(_ chunk: ImportedChunk, _ range: Range<Int>, job: BulkOutput, store: EmbeddingStore,
                            slots: inout SlotAllocator, summary: inout ImportSummary) throws {
        var files: [(CatalogueFile, ImportedChunk.Record)] = [], rows: [[Float]] = [], at: [Int] = []
        var seen: Set<FileKey> = []
        let existing = try library.catalogue.read { db in
            try range.map { i -> Bool in
                let key = Self.key(chunk.records[i].location)
                return try Bool.fetchOne(db, sql: "SELECT 1 FROM files WHERE root = ? AND path = ?", arguments: [key.root, key.path]) ?? false
            }
        }
        for (i, exists) in zip(range, existing) {
            let record = chunk.records[i]
            let key = Self.key(record.location)
            guard !exists, seen.insert(key).inserted else { summary.duplicates += 1; continue }
            var file = CatalogueFile(root: key.root, path: key.path, size: 0, mtime: 0, sha256: "", width: 0, height: 0, takenAt: nil, slot: 0)
            if case .local = record.location {
                if let facts = Self.facts(file.fullPath) {
                    (file.size, file.mtime, file.sha256) = facts
                    summary.local += 1
                } else {
                    // Unreadable here after all: catalogued by its path, never served.
                    (file.root, file.path) = ("", file.fullPath)
                    summary.remote += 1
                }
            } else {
                summary.remote += 1
            }
            file.slot = slots.next()
            var row = chunk.embeddings.row(i)
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for j in row.indices { row[j] /= norm }
            rows.append(row); at.append(file.slot)
            files.append((file, record))
        }
        try store.write(rows, at: at)
        let complete = range.upperBound == chunk.rows
        try library.catalogue.write { db in
            for (file, record) in files {
                try file.insert(db)
                try db.execute(sql: "INSERT INTO imported (fileID, key, caption) VALUES (?, ?, ?)",
                               arguments: [db.lastInsertedRowID, record.key, record.caption])
            }
            try db.execute(sql: """
                INSERT INTO importedChunks (job, chunk, folder, rows, complete) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(job, chunk) DO UPDATE SET rows = excluded.rows, complete = excluded.complete, folder = excluded.folder
                """, arguments: [job.fingerprint, chunk.index, job.folder, range.upperBound, complete])
            try db.execute(sql: "UPDATE library SET slotCount = MAX(slotCount, ?) WHERE id = 1", arguments: [slots.count])
        }
        summary.imported += files.count
    }

    /// Where a record sits in the catalogue: a local file's folder and name; for any other,
    /// an empty root and its URL or key.
    static func key(_ location: ImportedChunk.Location) -> FileKey {
        switch location {
        case .local(let root, let path): return FileKey(root: root, path: path)
        case .remote(let name): return FileKey(root: "", path: name)
        }
    }

    /// Size, modification time (ns) and SHA-256 of a local file, or nil when it cannot be read.
    static func facts(_ path: String) -> (Int64, Int64, String)? {
        var info = stat()
        guard stat(path, &info) == 0, let sha = try? IndexPlan.sha256(path) else { return nil }
        #if canImport(Darwin)
        let time = info.st_mtimespec
        #else
        let time = info.st_mtim
        #endif
        return (Int64(info.st_size), Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec), sha)
    }
}

/// What an import did.
public struct ImportSummary: Sendable {
    /// Output folders read (their model matched).
    public var folders = 0
    /// Committed chunks found in them.
    public var chunks = 0
    /// Of those, imported completely by an earlier run: nothing to do.
    public var chunksBefore = 0
    /// Chunks imported (or finished) by this run.
    public var chunksImported = 0
    /// Chunks refused as damaged (see `failures`).
    public var failedChunks = 0
    /// Rows added to the library.
    public var imported = 0
    /// Rows whose place (local file, URL or key) the library already had.
    public var duplicates = 0
    /// Added rows that are files on this machine, and those known only by URL or key.
    public var local = 0
    public var remote = 0
    /// Folders and chunks that failed, and why.
    public var failures: [(path: String, reason: String)] = []

    public init() {}
}
