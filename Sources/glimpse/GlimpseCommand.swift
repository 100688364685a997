import ArgumentParser
import Foundation
import Glimpse

@main
struct GlimpseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glimpse",
        abstract: "Vision-language models (CLIP, BLIP, OWL-ViT) on the command line.",
        discussion: "Results go to standard output as JSON Lines (one object per input), or as a table with --format table; progress and errors go to standard error. Exit status: 0 on success, 1 when an input, model or download fails, 2 for a usage error (unknown command or option, missing or invalid value, contradictory options, a bad environment variable).",
        subcommands: [EmbedCommand.self, ClassifyCommand.self, CaptionCommand.self, MatchCommand.self, CapFiltCommand.self, DetectCommand.self,
                      EvalDetectionCommand.self, TokenizeCommand.self, BenchCommand.self, BenchDetectCommand.self,
                      ModelsCommand.self, InspectCommand.self, IndexCommand.self, SearchCommand.self, DedupCommand.self,
                      BenchSearchCommand.self, ServeCommand.self, TrainCommand.self]
    )

    /// Parses, checks the environment, runs, and exits with 0 on success, 2 on a usage error
    /// and 1 on a failure. ArgumentParser's own `main` would exit 64 on usage errors and print
    /// Foundation errors as raw dumps.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let unknown = unknownCommand(arguments) { usageFailure(unknown) }
        if let negative = negativeListValue(arguments) { usageFailure(negative) }
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            report(error)
        }
        do {
            try checkEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            usageFailure("glimpse: error: \(ErrorReport.describe(error))")
        }
        do {
            try command.run()
        } catch {
            report(error)
        }
    }

    /// Usage errors exit with 2, as other Unix tools do (ArgumentParser's own code is 64).
    static let usageExitCode: Int32 = 2

    static func usageFailure(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
        terminate(usageExitCode)
    }

    /// Help and version go to standard output with 0; parse and validation errors keep
    /// ArgumentParser's message and usage lines and exit 2; anything else is one plain line,
    /// `glimpse: error: …`, and exits 1.
    static func report(_ error: Error) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            FileHandle.standardOutput.write(Data((fullMessage(for: error) + "\n").utf8))
            terminate(0)
        }
        if code == .validationFailure { usageFailure(fullMessage(for: error)) }
        if let explicit = error as? ExitCode { terminate(explicit.rawValue) }
        let described = isFoundationOrGlimpse(error) ? ErrorReport.describe(error) : message(for: error)
        if !described.isEmpty {
            FileHandle.standardError.write(Data("glimpse: error: \(described)\n".utf8))
        }
        terminate(code.rawValue == 0 ? 1 : code.rawValue)
    }

    /// Errors thrown while parsing come wrapped by ArgumentParser; those from `run()` do not.
    private static func isFoundationOrGlimpse(_ error: Error) -> Bool {
        error is GlimpseError || error is POSIXError || error is CocoaError || error is URLError
            || [NSCocoaErrorDomain, NSPOSIXErrorDomain, NSURLErrorDomain].contains((error as NSError).domain)
    }

    /// "'frobnicate' is not a glimpse command" when the first argument is neither an option
    /// nor a command (ArgumentParser would complain about the options that follow it instead).
    static func unknownCommand(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.map { $0._commandName }
        guard !names.contains(first), first != "help" else { return nil }
        let plain = !first.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "'" }
        let shown = plain ? "'\(first)'" : Check.quoted(first)
        return """
            glimpse: error: \(shown) is not a glimpse command
            Commands: \(names.joined(separator: ", "))
              See 'glimpse --help' for what each does.
            """
    }

    /// List options of counts. Their values stop at anything that looks like an option, so
    /// `--batch 1 -5` would say "Unknown option '-5'"; name the option and the bound instead.
    static let countLists = ["--batch", "--queries"]

    static func negativeListValue(_ arguments: [String]) -> String? {
        var list: String?
        for argument in arguments {
            if argument == "--" { return nil }
            if countLists.contains(argument) { list = argument; continue }
            guard let option = list, let value = Int(argument) else { list = nil; continue }
            if value < 1 {
                return "Error: \(option) must be at least 1, got \(value)\n  See 'glimpse \(arguments[0]) --help' for more information."
            }
        }
        return nil
    }

    /// Environment variables are settings like options: a value that cannot be used is an
    /// error naming the variable, not silently replaced by a default.
    static func checkEnvironment(_ environment: [String: String]) throws {
        _ = try Parallel.environmentThreadCount(environment)
        try HubEnvironment(environment: environment).validate()
    }
}

/// The process's exit (a free function: inside a command type, `exit` names
/// ArgumentParser's `exit(withError:)`).
private func terminate(_ code: Int32) -> Never { exit(code) }

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

    @Option(parsing: .unconditional, help: "Inputs encoded per forward pass (1 to \(Limits.batchSize)).")
    var batchSize: Int = 32

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads) (default: GLIMPSE_NUM_THREADS, else all cores).")
    var threads: Int?

    @Option(help: precisionHelp)
    var precision: Precision = .fp32

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("--model is empty: give a model folder or a Hub id") }
        try Check.range(batchSize, "--batch-size", 1 ... Limits.batchSize)
        try Check.range(threads, "--threads", 1 ... Limits.threads)
    }

    func apply() {
        if let threads { Parallel.threadCount = threads }
    }
}
