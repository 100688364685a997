import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch

extension IndexCommand {
    /// `glimpse index --import DIR...`: the embed outputs into the library (see
    /// `EmbeddingImporter`); one summary object, exit 1 when a folder or chunk failed.
    func runImport() throws {
        let library = try PhotoLibrary(folder: db, create: true)
        let clip = try CLIP(checkpoint: locateModel(model, quiet: quiet, precision: precision))
        let importer = try EmbeddingImporter(library: library, model: LibraryModel(spec: model, clip: clip))
        var bar: Progress?
        let summary = try importer.importFolders(imports) { progress in
            if bar == nil { bar = Progress(total: progress.total, unit: "rows", quiet: quiet) }
            bar?.update(done: progress.done, resumed: 0)
        }
        bar?.finish()
        let kept = try refreshApproximateIndex(library)
        for failure in summary.failures {
            FileHandle.standardError.write(Data("glimpse: error: \(failure.reason)\n".utf8))
        }
        var output = Output(format: format, columns: ["folders", "chunks", "chunks_before", "imported", "duplicates", "local", "remote", "failed_chunks"])
        output.emit([("folders", .int(summary.folders)), ("chunks", .int(summary.chunks)), ("chunks_before", .int(summary.chunksBefore)),
                     ("imported", .int(summary.imported)), ("duplicates", .int(summary.duplicates)), ("local", .int(summary.local)),
                     ("remote", .int(summary.remote)), ("failed_chunks", .int(summary.failedChunks)),
                     ("failed_folders", .int(summary.failures.count - summary.failedChunks)), ("library", .string(library.folder)),
                     ("approximate_index", kept.map { .string($0) } ?? .null)])
        output.finish()
        if !summary.failures.isEmpty {
            FileHandle.standardError.write(Data("glimpse: error: \(summary.failures.count) folders or chunks failed and were skipped; the others were imported\n".utf8))
            throw ExitCode.failure
        }
    }
}
