import ArgumentParser
import Glimpse

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Token ids of texts as the model sees them (start and end tokens included, no padding)."
    )

    @Option(name: .shortAndLong, help: modelHelp)
    var model: String

    @Argument(help: "Texts to tokenize.")
    var texts: [String] = []

    @Flag(help: "Cut texts longer than the context instead of failing (the end token is kept).")
    var truncate = false

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("no texts to tokenize") }
        guard !model.isEmpty else { throw ValidationError("--model is empty: give a model folder or a Hub id") }
    }

    func run() throws {
        let checkpoint = try locateModel(model, files: .tokenizerOnly, quiet: false)
        let config = try CLIPModel.textConfig(checkpoint: checkpoint)
        let tokenizer = try CLIPTokenizer.load(folder: checkpoint.folder)
        var output = Output(format: format, columns: ["text", "ids"])
        for text in texts {
            let ids = try tokenizer.tokenize(text, contextLength: config.maxPositions, truncate: truncate)
            output.emit([("text", .string(text)), ("ids", .array(ids.map { .int($0) }))])
        }
        output.finish()
    }
}
