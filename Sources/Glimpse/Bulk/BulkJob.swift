import Foundation
import GlimpseData

/// What a bulk job does to a dataset, for `BulkRunner`: the runner reads the records, batches
/// them, overlaps `prepare` of the next batch with `process` of the current one, writes the
/// outputs in committed chunks through the job's `ChunkWriter`, and keeps the journal that
/// makes the run resumable. A job only says how a batch becomes outputs and how outputs
/// become files (or JSON Lines, in streaming mode).
///
/// Jobs must be deterministic: the same records give the same outputs whatever the batch
/// boundaries, so a resumed run equals an uninterrupted one record for record.
public protocol BulkJob: Sendable {
    /// What `prepare` hands to `process`: decoded and preprocessed images, token ids, ….
    associatedtype Prepared: Sendable
    /// One record's result.
    associatedtype Output
    associatedtype ChunkWriter: BulkChunkWriter where ChunkWriter.Output == Output

    /// Everything that changes the outputs besides the inputs: the command, the model, the
    /// options. The runner adds the inputs, fields and shard, and refuses to resume an output
    /// folder whose journal was started with a different fingerprint.
    var fingerprint: String { get }

    /// Work that needs no model and runs on a background thread one batch ahead: reading,
    /// decoding and preprocessing images (see `ImagePrefetcher`), tokenizing texts. Per-record
    /// failures belong in `Prepared`; a throw stops the whole run.
    func prepare(_ records: [DatasetRecord]) throws -> Prepared

    /// The model work: exactly one result per record, in order. A record that fails is a
    /// `DatasetFailure` (it goes to `errors.jsonl`); a throw stops the whole run.
    func process(_ records: [DatasetRecord], prepared: Prepared) throws -> [Result<Output, DatasetFailure>]

    /// A writer for chunk `index`; every file it writes is created through `staging`.
    func makeChunkWriter(chunk index: Int, staging: BulkStaging) throws -> ChunkWriter

    /// The streaming (`--stdout`) form of one output: the fields of its JSON object after
    /// `"key"` and `"source"`, which the runner writes first.
    func streamFields(_ record: DatasetRecord, _ output: Output) -> [(String, BulkJSON)]

    /// Facts about the job that readers of its output need (the model that made the
    /// embeddings, say), written into the journal's first line; not part of the fingerprint.
    var journalHeader: [(String, BulkJSON)] { get }
}

extension BulkJob {
    public var journalHeader: [(String, BulkJSON)] { [] }
}

/// Writes the outputs of one chunk, in dataset order. Created per chunk by the job; the
/// runner calls `append` for each record that succeeded and `finish` once before it commits
/// the chunk (fsync, rename into place, journal line). Files must be created through the
/// `BulkStaging` the writer was made with, never opened directly.
public protocol BulkChunkWriter {
    associatedtype Output
    mutating func append(_ record: DatasetRecord, _ output: Output) throws
    /// Writes what is buffered; the runner closes and commits the staged files after this.
    mutating func finish() throws
}
