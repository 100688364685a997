import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a photo library by text and/or by an example image.",
        discussion: "Ranks the library's photos by cosine similarity to the query: the weighted sum of the normalised text and image embeddings, minus the --negative texts, normalised. Exact: one matrix product over the memory-mapped embeddings; approximate through the library's FAISS index where glimpse index keeps one that is up to date (--exact to bypass it). One object per result, best first: {\"rank\", \"score\", \"path\", \"id\", \"width\", \"height\", \"taken\"}."
    )

    @Argument(help: "Text to search for.")
    var text: String?

    @Option(name: .long, help: "The library folder (see glimpse index).")
    var db: String

    @Option(help: "An image to search by (photos that look like it).")
    var image: String?

    @Option(help: "Weight of the text in a text + image query.")
    var textWeight: Float = 1

    @Option(help: "Weight of the image in a text + image query.")
    var imageWeight: Float = 1

    @Option(parsing: .singleValue, help: "A text to steer away from (repeatable); its embedding is subtracted.")
    var negative: [String] = []

    @Option(help: "Weight of each --negative text.")
    var negativeWeight: Float = 1

    @Option(help: "Results to show (1 to \(Limits.searchResults)).")
    var top: Int = 10

    @Option(help: "Only photos at or under this folder.")
    var under: String?

    @Option(name: .shortAndLong, help: "The model for the query (default: the library's own); must be the library's model.")
    var model: String?

    @Flag(help: "Exact search even where the library keeps an approximate index (see glimpse index --approximate).")
    var exact = false

    @Option(help: precisionHelp)
    var precision: Precision = .fp32

    @Option(help: "semantic (CLIP embeddings), keyword (BM25 over the BLIP captions) or hybrid (both, by reciprocal rank fusion); keyword and hybrid need a library indexed with --captions.")
    var mode: SearchMode = .semantic

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    @Flag(name: .shortAndLong, help: "No download progress on standard error.")
    var quiet = false

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads).")
    var threads: Int?

    func validate() throws {
        guard text != nil || image != nil else { throw ValidationError("nothing to search for: give a text and/or --image FILE") }
        if let text { try Check.texts([text], "the text", "query") }
        try Check.texts(negative, "--negative", "negative text")
        try Check.range(top, "--top", 1 ... Limits.searchResults)
        try Check.finite(textWeight, "--text-weight")
        try Check.finite(imageWeight, "--image-weight")
        try Check.finite(negativeWeight, "--negative-weight")
        try Check.range(threads, "--threads", 1 ... Limits.threads)
        try checkSearchMode(mode, text: text, image: image, negatives: negative)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let library = try PhotoLibrary(folder: db)
        let snapshot = try library.snapshot()
        let clip = mode == .keyword && model == nil ? nil : try openLibraryModel(snapshot.model, override: model, library: library.folder, quiet: quiet, precision: precision)
        let query = SearchQuery(text: text, image: image, textWeight: textWeight, imageWeight: imageWeight,
                                negatives: negative, negativeWeight: negativeWeight, top: top,
                                under: under.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        let hits = try library.search(query, mode: mode, in: LibrarySearch(library: library, snapshot: snapshot, exact: exact || mode == .keyword), clip: clip)
        let captions = try library.catalogue.captionModel() == nil ? nil : try library.catalogue.captions(for: hits.map(\.file.sha256))
        var output = Output(format: format, columns: ["rank", "score", "path", "width", "height", "taken"] + (captions == nil ? [] : ["caption"]))
        for (rank, hit) in hits.enumerated() {
            output.emit([("rank", .int(rank + 1)), ("score", .float(hit.score)), ("path", .string(hit.file.fullPath)),
                         ("id", .int(Int(hit.file.id ?? 0))), ("width", .int(hit.file.width)), ("height", .int(hit.file.height)),
                         ("taken", hit.file.takenAt.map { .string($0) } ?? .null)]
                        + (captions.map { [("caption", $0[hit.file.sha256].map { .string($0) } ?? .null)] } ?? []))
        }
        output.finish()
    }
}

/// The library's model for embedding queries: `--model` when given (checked to be the
/// library's), else the one recorded in the library.
func openLibraryModel(_ recorded: LibraryModel, override: String?, library: String, quiet: Bool,
                      precision: Precision = .fp32) throws -> CLIP {
    let spec = override ?? recorded.locator
    let clip: CLIP
    do {
        clip = try CLIP(checkpoint: locateModel(spec, quiet: quiet, precision: precision))
    } catch let error as GlimpseError where override == nil {
        throw GlimpseError.invalidArgument("the library's model \(recorded.locator) cannot be opened (\(error)); give it with --model")
    }
    try recorded.requireSame(LibraryModel(spec: spec, clip: clip), library: library)
    return clip
}
