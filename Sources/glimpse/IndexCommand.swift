import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index folders of photos into a library for search.",
        discussion: "Walks each folder recursively for JPEG and PNG files and brings the library up to date: new and changed files are embedded, removed ones pruned, moved and copied ones recognised by their SHA-256 and not embedded again. Files that fail are recorded with the reason and skipped. A run can be killed at any time; the next run continues where it stopped. Prints one summary object (or table) on standard output."
    )

    @Option(name: .shortAndLong, help: modelHelp)
    var model: String

    @Option(name: .long, help: "The library folder (created if missing): catalogue.sqlite and embeddings.f32.")
    var db: String

    @Option(help: precisionHelp)
    var precision: Precision = .fp32

    @Argument(help: "Folders of photos.")
    var folders: [String] = []

    @Option(help: ArgumentHelp("Also caption each photo with this BLIP captioning model (folder or Hub id), for keyword and hybrid search.",
                               discussion: "Photos already indexed without captions are captioned, not embedded again.",
                               valueName: "BLIP_MODEL"))
    var captions: String?

    @Option(name: .customLong("import"), parsing: .singleValue,
            help: "An output folder of glimpse embed (repeatable) to import instead of walking folders: its committed image embeddings and metadata, embedded elsewhere with this model.")
    var imports: [String] = []

    @Option(help: "Output format of the summary: jsonl or table.")
    var format: OutputFormat = .jsonl

    @Flag(name: .shortAndLong, help: "No progress output on standard error.")
    var quiet = false

    @Option(parsing: .unconditional, help: "Images per forward pass and per transaction (1 to \(Limits.batchSize)).")
    var batchSize: Int = 32

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads) (default: GLIMPSE_NUM_THREADS, else all cores).")
    var threads: Int?

    @Option(help: "Keep an approximate (FAISS) index for search: auto (from \(ApproximatePolicy.threshold) photos on), always or never.")
    var approximate: ApproximatePolicy = .auto

    func validate() throws {
        guard !folders.isEmpty || !imports.isEmpty else { throw ValidationError("no folders to index: give one or more folders after the options, or --import EMBED_OUTPUT") }
        guard folders.isEmpty || imports.isEmpty else { throw ValidationError("give folders to index or --import folders, not both in one run") }
        guard imports.isEmpty || captions == nil else { throw ValidationError("--captions captions photos as they are indexed; --import brings in embeddings only") }
        guard !model.isEmpty else { throw ValidationError("--model is empty: give a model folder or a Hub id") }
        guard !db.isEmpty else { throw ValidationError("--db is empty: give a library folder") }
        try Check.range(batchSize, "--batch-size", 1 ... Limits.batchSize)
        try Check.range(threads, "--threads", 1 ... Limits.threads)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        if !imports.isEmpty { return try runImport() }
        let library = try PhotoLibrary(folder: db, create: true)
        let clip = try CLIP(checkpoint: locateModel(model, quiet: quiet, precision: precision))
        let indexer = try LibraryIndexer(library: library, clip: clip, model: LibraryModel(spec: model, clip: clip))
        indexer.batchSize = batchSize
        try captionIndexing(indexer, spec: captions, quiet: quiet)
        let bar = IndexProgressLine(quiet: quiet)
        let summary = try indexer.index(folders: folders) { bar.update($0) }
        bar.finish()
        let kept = try refreshApproximateIndex(library)
        for (folder, reason) in summary.skippedFolders where !quiet {
            FileHandle.standardError.write(Data("glimpse: warning: \(folder) \(reason)\n".utf8))
        }
        for failure in summary.failures {
            FileHandle.standardError.write(Data("glimpse: error: \(failure.fullPath): \(failure.reason)\n".utf8))
        }
        var output = Output(format: format, columns: ["photos", "embedded", "unchanged", "moved", "copied", "touched",
                                                       "removed", "failed", "failed_before", "other_files"])
        output.emit([("photos", .int(summary.photos)), ("embedded", .int(summary.embedded)), ("unchanged", .int(summary.unchanged)),
                     ("moved", .int(summary.moved)), ("copied", .int(summary.copied)), ("touched", .int(summary.touched)),
                     ("removed", .int(summary.removed)), ("failed", .int(summary.failed)), ("failed_before", .int(summary.failedBefore)),
                     ("other_files", .int(summary.otherFiles)), ("repaired", .int(summary.repaired))]
                    + (captions == nil ? [] : [("captioned", .int(summary.captioned)), ("uncaptioned", .int(summary.uncaptioned))])
                    + [("library", .string(library.folder)), ("approximate_index", kept.map { .string($0) } ?? .null)])
        output.finish()
        if summary.failed > 0 {
            FileHandle.standardError.write(Data("glimpse: error: \(summary.failed) files failed and were recorded; the others were indexed\n".utf8))
            throw ExitCode.failure
        }
    }
}

extension IndexCommand {
    /// Brings the library's approximate index up to date (see `--approximate`); its FAISS
    /// description, if one is kept.
    func refreshApproximateIndex(_ library: PhotoLibrary) throws -> String? {
        try LibrarySearch.refresh(library: library, snapshot: library.snapshot(), policy: approximate) { description in
            if !quiet { FileHandle.standardError.write(Data("glimpse: building the approximate index (\(description))\n".utf8)) }
        }
    }
}

extension ApproximatePolicy: ExpressibleByArgument {}

/// "embedding 120/200 files, 35.2 files/s, 2 s left" on standard error: redrawn in place on
/// a terminal, a line every few seconds elsewhere.
final class IndexProgressLine: @unchecked Sendable {
    private let quiet: Bool
    private let terminal = isatty(STDERR_FILENO) != 0
    private var last = Date.distantPast
    private var drawn = false

    init(quiet: Bool) { self.quiet = quiet }

    func update(_ progress: IndexProgress) {
        guard !quiet else { return }
        let now = Date()
        guard progress.done == progress.total || now.timeIntervalSince(last) >= (terminal ? 0.2 : 5) else { return }
        last = now
        var text = "embedding \(progress.done)/\(progress.total) files, " + String(format: "%.1f files/s", progress.rate)
        if let left = progress.remaining { text += String(format: ", %.0f s left", left) }
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
        drawn = true
    }

    func finish() {
        if drawn && terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
