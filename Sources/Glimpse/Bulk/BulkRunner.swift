import Crypto
import Foundation
import GlimpseBase
import GlimpseData
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The names of a bulk output folder's own files, beside the job's outputs.
public enum BulkFolder {
    /// The progress journal (JSON Lines): the job's fingerprint, then one line per committed chunk.
    public static let journal = "journal.jsonl"
    /// Per-record failures, `{"key","source","reason"}` a line, committed with their chunk.
    public static let errors = "errors.jsonl"
    /// The totals, written when the job is complete.
    public static let summary = "summary.json"
    /// Where a chunk's files are written before they are committed.
    public static let staging = ".staging"
}

/// How a bulk run batches and commits.
public struct BulkSettings: Sendable {
    /// Records per `prepare` / `process` round.
    public var batchSize: Int
    /// Dataset items (records and failures) per committed chunk; a chunk's outputs are held
    /// by its writer until the chunk is committed.
    public var chunkSize: Int

    public init(batchSize: Int = 32, chunkSize: Int = 10_000) {
        self.batchSize = batchSize
        self.chunkSize = chunkSize
    }
}

/// Runs a `BulkJob` over a dataset (or one `DatasetShard` of it) into an output folder, in
/// committed chunks, resumably:
///
/// - a chunk's files are written into `OUT/.staging`, fsynced and renamed into place; then
///   its per-record failures are appended to `OUT/errors.jsonl` (`{"key","source","reason"}`)
///   and synced; then a line in `OUT/journal.jsonl` records the chunk, the last dataset
///   position consumed and the totals, and is synced. Only then is the chunk committed.
/// - on start, an existing folder must hold the journal of the same job (same fingerprint:
///   job, options, inputs, shard); leftovers of an uncommitted chunk are deleted (staging,
///   files no journal line names, `errors.jsonl` past its committed length) and the positions
///   already committed are skipped. So after `kill -9` at any point the same call continues
///   with no record lost or duplicated. Chunk and batch boundaries fall at the same places
///   as in an uninterrupted run, so the outputs are identical to it, bit for bit.
/// - SIGINT / SIGTERM (after `BulkInterrupt.install()`): the chunk in progress is abandoned at
///   the next batch boundary and `BulkInterrupted` is thrown.
/// - at the end a last journal line marks the job complete and `OUT/summary.json` is written.
///
/// With `stream(_:to:)` the same job runs without a folder: one JSON line per record out.
public final class BulkRunner<Job: BulkJob> {
    public let job: Job
    public let dataset: Dataset
    public let shard: DatasetShard
    public let settings: BulkSettings
    /// Called after every batch (on the calling thread).
    public var progress: ((BulkProgress) -> Void)?
    /// All items of the dataset or shard, when the caller knows (see `countItems`), for the ETA.
    public var total: Int?

    public init(job: Job, dataset: Dataset, shard: DatasetShard = .all, settings: BulkSettings = BulkSettings()) throws {
        guard (1 ... Limits.batchSize).contains(settings.batchSize) else {
            throw GlimpseError.invalidArgument("batch size \(settings.batchSize) is out of range: expected 1 to \(Limits.batchSize)")
        }
        guard (1 ... Limits.bulkChunkRecords).contains(settings.chunkSize) else {
            throw GlimpseError.invalidArgument("chunk size \(settings.chunkSize) is out of range: expected 1 to \(Limits.bulkChunkRecords)")
        }
        self.job = job
        self.dataset = dataset
        self.shard = shard
        self.settings = settings
    }

    /// What the journal names the job by: the job's fingerprint, the inputs (absolute path,
    /// kind, size), the fields read and the shard.
    public var jobDescription: String {
        let inputs = dataset.inputs.map { input -> String in
            let path = URL(fileURLWithPath: input.path).standardizedFileURL.path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
            return "\(input.kind.rawValue):\(path)" + (size.map { " (\($0) bytes)" } ?? "")
        }
        let f = dataset.fields
        return "\(job.fingerprint) over [\(inputs.joined(separator: ", "))] fields image=\(f.image) text=\(f.text ?? "-") "
            + "captions=\(f.captionFields.joined(separator: ",")) requireText=\(f.requireText) shard \(shard)"
    }

    /// Runs (or continues) the job into `folder`; returns the job's totals.
    public func run(into folder: String) throws -> BulkSummary {
        let started = Date()
        try prepareFolder(folder)
        let description = jobDescription
        let fingerprint = SHA256.hash(data: Data(description.utf8)).map { String(format: "%02x", $0) }.joined()
        var journal = try BulkJournal(folder: folder, fingerprint: fingerprint, job: description, header: job.journalHeader)
        defer { journal.close() }
        let resumedEntry = journal.last
        if journal.complete {
            // Done before; (re)write the summary in case the process died just before it did.
            let result = summary(resumedEntry, resumed: resumedEntry.recordsIn)
            try Self.writeAtomically(result.json.text + "\n", to: (folder as NSString).appendingPathComponent(BulkFolder.summary))
            return result
        }

        let staging = BulkStaging(folder: folder)
        try staging.reset()
        try removeUncommitted(folder, keeping: journal.files)
        let errors = try ErrorsFile(folder: folder, committedBytes: resumedEntry.errorsBytes)
        defer { errors.close() }

        let skipAfter = resumedEntry.position
        let items = dataset.items(in: shard).lazy.filter { $0.position > skipAfter }.makeIterator()
        var batcher = BulkBatcher(items: AnyIterator(items), batchSize: settings.batchSize, chunkSize: settings.chunkSize)

        var totals = resumedEntry
        var writer: Job.ChunkWriter?
        var errorLines = ""
        var pendingItems = 0
        let elapsedBefore = resumedEntry.elapsed

        func commit() throws {
            guard pendingItems > 0 else { return }
            let chunk = totals.chunk + 1
            if writer == nil { writer = try job.makeChunkWriter(chunk: chunk, staging: staging) }
            try writer?.finish()
            writer = nil
            let files = try staging.commit()
            let errorsBytes = try errors.append(errorLines)
            totals.chunk = chunk
            totals.files = files
            totals.errorsBytes = errorsBytes
            totals.elapsed = elapsedBefore + Date().timeIntervalSince(started)
            try journal.commit(totals)
            errorLines = ""
            pendingItems = 0
        }

        do {
            try job.forEachBatch(&batcher) { batch, outcomes in
                if writer == nil { writer = try job.makeChunkWriter(chunk: totals.chunk + 1, staging: staging) }
                for outcome in outcomes {
                    switch outcome {
                    case .output(let record, let output):
                        try writer?.append(record, output)
                        totals.outputs += 1
                    case .failure(let failure):
                        errorLines += Self.errorLine(failure) + "\n"
                        totals.failed += 1
                    }
                }
                totals.recordsIn += batch.items.count
                totals.position = batch.positions.last ?? totals.position
                pendingItems += batch.items.count
                if batch.endsChunk { try commit() }
                progress?(BulkProgress(done: totals.recordsIn, resumed: resumedEntry.recordsIn, outputs: totals.outputs,
                                       failed: totals.failed, total: total, elapsed: Date().timeIntervalSince(started)))
            }
            try commit()
        } catch let interrupted as BulkInterrupted {
            // Abandon the chunk in progress rather than commit it short: the next run then
            // starts on the same chunk boundary, so its batches, and numbers, are exactly
            // those of an uninterrupted run.
            writer = nil
            try staging.remove()
            throw BulkInterrupted(signal: interrupted.signal, committed: totals.recordsIn - pendingItems)
        }
        try journal.markComplete()
        try staging.remove()
        let result = summary(totals, resumed: resumedEntry.recordsIn)
        try Self.writeAtomically(result.json.text + "\n", to: (folder as NSString).appendingPathComponent(BulkFolder.summary))
        return result
    }

    /// Runs the job over `items` without a folder or journal: each record's JSON line
    /// (`{"key","source",…}` with the job's fields, or `{"key","source","error"}` for a failure)
    /// goes to `write` in dataset order, a batch at a time.
    public func stream(_ items: some Sequence<DatasetItem>, to write: (String) throws -> Void) throws -> BulkSummary {
        let started = Date()
        let positioned = items.enumerated().lazy.map { (position: $0.offset, item: $0.element) }.makeIterator()
        var batcher = BulkBatcher(items: AnyIterator(positioned), batchSize: settings.batchSize, chunkSize: Limits.bulkChunkRecords)
        var totals = BulkSummary(recordsIn: 0, outputs: 0, failed: 0, elapsed: 0, chunks: 0, resumed: 0)
        try job.forEachBatch(&batcher) { batch, outcomes in
            var text = ""
            for outcome in outcomes {
                switch outcome {
                case .output(let record, let output):
                    BulkJSON.object([("key", .string(record.key)), ("source", .string(record.source))]
                        + job.streamFields(record, output)).write(into: &text)
                    totals.outputs += 1
                case .failure(let failure):
                    BulkJSON.object([("key", .string(failure.key)), ("source", .string(failure.source)),
                                     ("error", .string(failure.reason))]).write(into: &text)
                    totals.failed += 1
                }
                text += "\n"
            }
            try write(text)
            totals.recordsIn += batch.items.count
            progress?(BulkProgress(done: totals.recordsIn, resumed: 0, outputs: totals.outputs, failed: totals.failed,
                                   total: total, elapsed: Date().timeIntervalSince(started)))
        }
        totals.elapsed = Date().timeIntervalSince(started)
        return totals
    }

    /// Counts the items of the dataset (or shard) by reading it once, for the ETA; cheap for
    /// manifests and folders, a full read for tar shards.
    public static func countItems(_ dataset: Dataset, shard: DatasetShard = .all) -> Int {
        var count = 0
        for _ in dataset.items(in: shard) { count += 1 }
        return count
    }

    /// One `errors.jsonl` line.
    public static func errorLine(_ failure: DatasetFailure) -> String {
        BulkJSON.object([("key", .string(failure.key)), ("source", .string(failure.source)),
                         ("reason", .string(failure.reason))]).text
    }

    private func summary(_ entry: BulkJournal.Entry, resumed: Int) -> BulkSummary {
        BulkSummary(recordsIn: entry.recordsIn, outputs: entry.outputs, failed: entry.failed,
                    elapsed: entry.elapsed, chunks: entry.chunk + 1, resumed: resumed)
    }

    /// The output folder: created when missing; when present, a real folder that is either
    /// empty or holds a journal.
    private func prepareFolder(_ folder: String) throws {
        guard !folder.isEmpty else { throw GlimpseError.invalidArgument("the output folder path is empty") }
        var info = stat()
        if lstat(folder, &info) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw GlimpseError.invalidFile(path: folder, reason: "cannot be created as the output folder (\(error.localizedDescription))")
            }
            return
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw GlimpseError.invalidFile(path: folder, reason: "exists and is not a folder; the output folder must be a new or empty folder, or one a bulk job was writing")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        guard entries.isEmpty || entries.contains(BulkFolder.journal) else {
            throw GlimpseError.invalidFile(path: folder, reason: "is not empty and has no \(BulkFolder.journal); give a new or empty output folder, or the one an interrupted run was writing")
        }
    }

    /// Deletes files a committed chunk does not own (a chunk renamed into place whose journal
    /// line never made it), walking the job's subfolders without following links.
    private func removeUncommitted(_ folder: String, keeping committed: Set<String>) throws {
        let own: Set<String> = [BulkFolder.journal, BulkFolder.errors, BulkFolder.staging]
        func walk(_ relative: String) throws {
            let path = relative.isEmpty ? folder : (folder as NSString).appendingPathComponent(relative)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                let name = relative.isEmpty ? entry : relative + "/" + entry
                if relative.isEmpty, own.contains(entry) { continue }
                let full = (folder as NSString).appendingPathComponent(name)
                var info = stat()
                guard lstat(full, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR { try walk(name); continue }
                if !committed.contains(name) { guard unlink(full) == 0 else { throw BulkFile.failure(full, "cannot be removed") } }
            }
        }
        try walk("")
    }

    /// Writes `text` to `path` through a synced temporary file and a rename.
    static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".partial"
        unlink(temporary)
        let file = try BulkFile(name: (path as NSString).lastPathComponent, path: temporary)
        try file.write(text)
        try file.sync()
        guard rename(temporary, path) == 0 else { throw BulkFile.failure(path, "cannot be moved into place") }
    }
}

/// `OUT/errors.jsonl`, cut back to its committed length on open and appended to (and synced)
/// as each chunk commits.
private final class ErrorsFile {
    let path: String
    private let fd: Int32

    init(folder: String, committedBytes: Int) throws {
        path = (folder as NSString).appendingPathComponent(BulkFolder.errors)
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BulkFile.failure(path, "cannot be opened") }
        self.fd = fd
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw BulkFile.failure(path, "cannot be inspected") }
        guard Int(info.st_size) >= committedBytes else {
            throw GlimpseError.invalidFile(path: path, reason: "has \(info.st_size) bytes but the journal committed \(committedBytes)")
        }
        guard ftruncate(fd, off_t(committedBytes)) == 0 else { throw BulkFile.failure(path, "cannot be cut back to its committed length") }
    }

    /// Appends and syncs; returns the new length.
    func append(_ text: String) throws -> Int {
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else { throw BulkFile.failure(path, "cannot be appended to") }
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { try BulkFile.writeAll(fd, $0, path: path) }
        guard fsync(fd) == 0 else { throw BulkFile.failure(path, "cannot be synced to disk") }
        return Int(end) + bytes.count
    }

    func close() {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
}
