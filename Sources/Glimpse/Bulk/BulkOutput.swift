import Foundation
import GlimpseBase

/// A bulk output folder as its journal says, read without changing anything: the job, what
/// its first line recorded about it (`BulkJob.journalHeader`: the model, for embeddings) and
/// the committed chunks with their files. A chunk is committed exactly when its journal line
/// is whole, so a reader that takes only these never sees a half-written chunk, even while
/// the job is still running or after it was killed.
public struct BulkOutput: Sendable {
    public struct Chunk: Sendable, Equatable {
        public var index: Int
        /// The chunk's files, relative to the folder.
        public var files: [String]
    }

    /// The model a job recorded (`CLIPEmbedJob`): what `--model` resolved to, the fingerprint
    /// of its files (`ModelFingerprint`) and the width of the embeddings.
    public struct Model: Sendable, Equatable {
        public var id: String
        public var revision: String?
        public var fingerprint: String
        public var dimension: Int
    }

    public let folder: String
    /// The journal's job fingerprint: the same for every copy of the folder, different for
    /// another job, other inputs or another shard.
    public let fingerprint: String
    /// The job in words (command, model, options, inputs, shard).
    public let job: String
    public let model: Model?
    /// The `kind` the job recorded (`image`, `text`, `both`), if any.
    public let kind: String?
    public let chunks: [Chunk]
    public let complete: Bool

    /// Reads `folder/journal.jsonl`; a folder without one, or a journal that is not a bulk
    /// journal or is out of order, is an error naming it.
    public init(folder: String) throws {
        self.folder = folder
        let path = (folder as NSString).appendingPathComponent(BulkFolder.journal)
        guard InputFile.kind(of: folder) == .directory else {
            throw GlimpseError.fileNotFound(path: folder, what: "bulk output folder")
        }
        guard InputFile.kind(of: path) != .missing else {
            throw GlimpseError.invalidFile(path: folder, reason: "has no \(BulkFolder.journal), so it is not the output folder of glimpse embed")
        }
        let data = try InputFile.read(path, what: "bulk journal", limit: Limits.bulkJournalBytes)
        let lines = BulkJournal.lines(data)
        guard let first = lines.first?.object, first["format"] as? String == BulkJournal.format,
              let fingerprint = first["fingerprint"] as? String, let job = first["job"] as? String else {
            throw GlimpseError.invalidFile(path: path, reason: "is not a Glimpse bulk journal")
        }
        self.fingerprint = fingerprint
        self.job = job
        kind = first["kind"] as? String
        if let m = first["model"] as? [String: Any] {
            guard let id = m["id"] as? String, let fp = m["fingerprint"] as? String,
                  let dimension = (m["dimension"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  (1 ... Limits.configDimension).contains(dimension) else {
                throw GlimpseError.invalidFile(path: path, reason: "records a model without a valid id, fingerprint and dimension")
            }
            model = Model(id: id, revision: m["revision"] as? String, fingerprint: fp, dimension: dimension)
        } else {
            model = nil
        }
        var chunks: [Chunk] = [], complete = false
        for (number, line) in lines.enumerated().dropFirst() {
            if line.object["complete"] as? Bool == true { complete = true; continue }
            guard let entry = BulkJournal.entry(line.object), entry.chunk == chunks.count else {
                throw GlimpseError.invalidFile(path: path, reason: "line \(number + 1) is not the record of chunk \(chunks.count)")
            }
            chunks.append(Chunk(index: entry.chunk, files: entry.files))
        }
        self.chunks = chunks
        self.complete = complete
    }
}
