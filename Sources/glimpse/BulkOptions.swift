import ArgumentParser
import Foundation
import Glimpse

/// The options every bulk command shares (`embed` over a dataset, `capfilt`): the dataset
/// inputs or `--stdin`, the output folder or `--stdout`, the shard, the chunk size and the
/// field names. `run(_:batchSize:quiet:)` drives any `BulkJob` with them.
struct BulkOptions: ParsableArguments {
    @Argument(help: "Dataset inputs: JSON Lines / CSV / TSV manifests, image folders, WebDataset shards (.tar, .tar.gz, .tgz).")
    var inputs: [String] = []

    @Option(help: "Output folder (created; an interrupted run's folder is continued where it stopped).")
    var out: String?

    @Option(help: "Process only part i of N of the inputs (i/N, e.g. 0/4): items whose position modulo N is i.")
    var shard: String?

    @Flag(help: "Read records from standard input as JSON Lines (manifest fields; paths relative to the current folder). Needs --stdout.")
    var stdin = false

    @Flag(help: "Write one JSON line per record to standard output instead of an output folder; a failed record is {\"key\",\"source\",\"error\"}.")
    var stdout = false

    @Option(parsing: .unconditional, help: "Dataset items per committed chunk (1 to \(Limits.bulkChunkRecords)); one file of each kind per chunk.")
    var chunkSize: Int = 10_000

    @Option(help: "Manifest / CSV field holding the image path.")
    var imageField = "image"

    @Option(help: "Manifest / CSV field holding the text (caption).")
    var textField = "text"

    /// Whether the command runs over a dataset (else it takes single files and strings).
    var isBulk: Bool { !inputs.isEmpty || stdin }

    func validate() throws {
        guard isBulk else {
            if out != nil || shard != nil || stdout { throw ValidationError("--out, --shard and --stdout need dataset inputs or --stdin") }
            return
        }
        try Check.range(chunkSize, "--chunk-size", 1 ... Limits.bulkChunkRecords)
        if stdin, !inputs.isEmpty { throw ValidationError("give dataset inputs or --stdin, not both") }
        if stdin, !stdout { throw ValidationError("--stdin needs --stdout (a stream cannot be resumed from an output folder)") }
        if stdin, shard != nil { throw ValidationError("--shard partitions dataset inputs; with --stdin the driver partitions the stream") }
        if stdout, out != nil { throw ValidationError("give --out DIR or --stdout, not both") }
        if !stdout, out == nil { throw ValidationError("give --out DIR for the outputs (or --stdout to stream them)") }
        if let out, out.isEmpty { throw ValidationError("--out is an empty path") }
        if let shard { do { _ = try DatasetShard(parsing: shard) } catch { throw ValidationError("--shard: \(error)") } }
        if imageField.isEmpty || textField.isEmpty { throw ValidationError("--image-field and --text-field must not be empty") }
    }

    func fields(requireText: Bool = false) -> DatasetFields {
        DatasetFields(image: imageField, text: textField, requireText: requireText)
    }

    /// Runs `job` over the inputs into `--out` (resumable) or to standard output, with a
    /// progress bar and a summary line on standard error. SIGINT / SIGTERM stop it after
    /// committing the work done; it then exits 128 + the signal number.
    func run<Job: BulkJob>(_ job: Job, batchSize: Int, quiet: Bool, requireText: Bool = false) throws {
        // A folder run stops cleanly on SIGINT / SIGTERM; a stream just ends (the driver re-sends it).
        if !stdout { BulkInterrupt.install() }
        let fields = fields(requireText: requireText)
        let settings = BulkSettings(batchSize: batchSize, chunkSize: chunkSize)
        let dataset = stdin ? Dataset(inputs: []) : try Dataset(paths: inputs, fields: fields)
        let partition = try shard.map { try DatasetShard(parsing: $0) } ?? .all
        let runner = try BulkRunner(job: job, dataset: dataset, shard: partition, settings: settings)
        let countable = !stdin && dataset.inputs.allSatisfy { $0.kind != .webDataset }
        if countable, !quiet { runner.total = BulkRunner<Job>.countItems(dataset, shard: partition) }
        let progress = Progress(total: runner.total, unit: "records", quiet: quiet, minimum: 1)
        runner.progress = { progress.update(done: $0.done, resumed: $0.resumed) }
        let summary: BulkSummary
        do {
            if stdout {
                let output = FileHandle.standardOutput
                let write: (String) throws -> Void = { try output.write(contentsOf: Data($0.utf8)) }
                summary = stdin ? try runner.stream(JSONLinesReader(fileDescriptor: STDIN_FILENO, fields: fields), to: write)
                    : try runner.stream(dataset.items(in: partition).lazy.map(\.item), to: write)
            } else {
                summary = try runner.run(into: out ?? "")
            }
        } catch let interrupted as BulkInterrupted {
            progress.finish()
            FileHandle.standardError.write(Data("glimpse: \(interrupted)\n".utf8))
            throw ExitCode(128 + interrupted.signal)
        }
        progress.finish()
        let where_ = stdout ? "" : "; failures in \((out ?? "") + "/" + BulkFolder.errors)"
        let line = "glimpse: \(summary.line)" + (summary.failed > 0 ? where_ : "") + "\n"
        if !quiet || summary.failed > 0 { FileHandle.standardError.write(Data(line.utf8)) }
    }
}
