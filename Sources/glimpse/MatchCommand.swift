import ArgumentParser
import Foundation
import Glimpse

enum MatchMode: String, ExpressibleByArgument, CaseIterable {
    case itm, itc, both
}

struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Score image-text pairs with a BLIP retrieval model (ITM and/or ITC).",
        discussion: """
        One object per (image, text) pair: {"image": ..., "text": ..., "itm": P(match), "itc": cosine}. \
        ITM runs the text encoder attending to the image; ITC compares separately computed \
        embeddings. Both by default; --mode itm or itc computes one.
        """
    )

    @OptionGroup var options: ModelOptions

    @Argument(help: "Image files.")
    var images: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Texts to match against every image.")
    var text: [String] = []

    @Option(help: "itm, itc or both.")
    var mode: MatchMode = .both

    func validate() throws {
        if images.isEmpty {
            try Check.swallowed(option: "--text", values: text, valuesAreFiles: false, command: "match",
                                example: ("\"a dog on a beach\"", "photo.jpg"))
            throw ValidationError("no images: give one or more image files")
        }
        guard !text.isEmpty else { throw ValidationError("no texts: give --text STRING...") }
        try Check.texts(text, "--text", "text")
        try Check.noImagePaths(text, option: "--text", command: "match")
    }

    func run() throws {
        options.apply()
        let matcher = try options.open(BLIPMatcher.self)
        var report = InputReport(Output(format: options.format, columns: ["image", "text", "itm", "itc"]), failFast: options.failFast)
        // A text that cannot be tokenized is reported once; the images are matched against the others.
        var texts: [(string: String, ids: [Int])] = []
        for (i, (string, result)) in zip(text, matcher.tokenizeEach(text)).enumerated() {
            if let ids = try report.value(result, name: textName(i)) { texts.append((string, ids)) }
        }
        if texts.isEmpty { return try report.finish() }
        let progress = Progress(total: images.count, unit: "images", quiet: options.quiet, minimum: 2)
        for batch in images.chunked(options.batchSize) {
            let scores = try matcher.matchEach(imageFiles: batch, ids: texts.map(\.ids), itm: mode != .itc, itc: mode != .itm)
            for (path, result) in zip(batch, scores) {
                guard let row = try report.value(result, name: path) else { continue }
                for (string, score) in zip(texts.map(\.string), row) {
                    var record: [(String, JSON)] = [("image", .string(path)), ("text", .string(string))]
                    if let itm = score.itm { record.append(("itm", .float(itm))) }
                    if let itc = score.itc { record.append(("itc", .float(itc))) }
                    report.output.emit(record)
                }
            }
            progress.advance(batch.count)
        }
        progress.finish()
        try report.finish()
    }
}
