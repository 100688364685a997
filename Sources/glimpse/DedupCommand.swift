import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch

struct DedupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "List groups of near-duplicate photos in a library.",
        discussion: "Photos whose embeddings have cosine similarity at or above --threshold are linked, and each connected group is listed, largest first: {\"group\", \"size\", \"similarity\", \"files\": [...]} (similarity is the highest within the group). No model is loaded."
    )

    @Option(name: .long, help: "The library folder (see glimpse index).")
    var db: String

    @Option(help: "Cosine similarity from which two photos count as duplicates (-1 to 1).")
    var threshold: Float = 0.95

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads).")
    var threads: Int?

    func validate() throws {
        try Check.finite(threshold, "--threshold")
        try Check.range(threshold, "--threshold", -1 ... 1)
        try Check.range(threads, "--threads", 1 ... Limits.threads)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let snapshot = try PhotoLibrary(folder: db).snapshot()
        var output = Output(format: format, columns: ["group", "size", "similarity", "path"])
        for (number, group) in try snapshot.duplicates(threshold: threshold).enumerated() {
            output.emit([("group", .int(number + 1)), ("size", .int(group.files.count)), ("similarity", .float(group.similarity)),
                         ("files", .array(group.files.map { .object([("path", .string($0.fullPath))]) }))])
        }
        output.finish()
    }
}
