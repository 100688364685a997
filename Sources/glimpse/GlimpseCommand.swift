import ArgumentParser
import Foundation
import Glimpse

@main
struct GlimpseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glimpse",
        abstract: "Vision-language models (CLIP, BLIP, OWL-ViT) on the command line.",
        discussion: "Results go to standard output as JSON Lines (one object per input), or as a table with --format table; progress and errors go to standard error.",
        subcommands: [EmbedCommand.self, ClassifyCommand.self, CaptionCommand.self, MatchCommand.self, DetectCommand.self,
                      EvalDetectionCommand.self, TokenizeCommand.self, BenchCommand.self, BenchDetectCommand.self,
                      ModelsCommand.self, InspectCommand.self]
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case jsonl, table
}

/// Options every model command shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: modelHelp)
    var model: String

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    @Flag(name: .shortAndLong, help: "No progress output on standard error.")
    var quiet = false

    @Flag(help: "Stop at the first input that fails (by default every failing input is reported and the others still processed; the exit status is 1 either way).") var failFast = false

    @Option(help: "Inputs encoded per forward pass.")
    var batchSize: Int = 32

    @Option(help: "Worker threads (default: all cores, or GLIMPSE_NUM_THREADS).")
    var threads: Int?

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func apply() {
        if let threads { Parallel.threadCount = threads }
    }
}
