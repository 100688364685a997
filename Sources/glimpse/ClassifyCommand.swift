import ArgumentParser
import Foundation
import Glimpse

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Zero-shot classification of images against a set of labels.",
        discussion: """
        Each label is put into the template(s) ("a photo of a {}." by default); with several \
        --template options, their embeddings are averaged (prompt ensembling). One object per image: \
        {"image": ..., "labels": [{"label": ..., "probability": ..., "logit": ...}, ...]}, sorted by probability.
        """
    )

    @OptionGroup var options: ModelOptions

    @Argument(help: "Image files.")
    var images: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Candidate labels.")
    var labels: [String] = []

    @Option(name: .long, help: "Labels: one per line (blank lines ignored), a JSON array, or a JSON object of index → label.")
    var labelsFile: String?

    @Option(name: .long, help: "Caption template with {} for the label; repeat for an ensemble.")
    var template: [String] = []

    @Option(parsing: .unconditional, help: "Show only the N most probable labels per image (N at least 1).")
    var top: Int?

    func validate() throws {
        if images.isEmpty {
            try Check.swallowed(option: "--labels", values: labels, valuesAreFiles: false, command: "classify",
                                example: ("cat dog", "photo.jpg"))
            throw ValidationError("no images to classify")
        }
        guard !labels.isEmpty || labelsFile != nil else {
            throw ValidationError("no labels: give --labels L1 L2 ... or --labels-file FILE")
        }
        try Check.names(labels, "--labels", "label")
        try Check.noImagePaths(labels, option: "--labels", command: "classify")
        try Check.names(template, "--template", "template")
        if let slotless = template.first(where: { !$0.contains("{}") }) {
            throw ValidationError("--template \(Check.quoted(slotless)) has no {} where the label goes")
        }
        try Check.atLeast(top, "--top", 1)
    }

    func run() throws {
        options.apply()
        var allLabels = labels
        if let labelsFile {
            allLabels += try LabelFile.read(labelsFile)
        }
        guard !allLabels.isEmpty else { throw GlimpseError.invalidArgument("the label list is empty") }
        let clip = try options.open(CLIP.self)
        let classifier = try ZeroShotClassifier(clip: clip, labels: allLabels,
                                                templates: template.isEmpty ? [ZeroShotClassifier.defaultTemplate] : template)
        var report = InputReport(Output(format: options.format, columns: ["image", "label", "probability", "logit"]),
                                 failFast: options.failFast)
        let progress = Progress(total: images.count, unit: "images", quiet: options.quiet)
        for batch in images.chunked(options.batchSize) {
            let scores = try classifier.classifyEach(imageFiles: batch, clip: clip)
            for (path, result) in zip(batch, scores) {
                guard let ranking = try report.value(result, name: path) else { continue }
                let shown = top.map { Array(ranking.prefix($0)) } ?? ranking
                report.output.emit([("image", .string(path)), ("labels", .array(shown.map { score in
                    .object([("label", .string(score.label)), ("probability", .float(score.probability)), ("logit", .float(score.logit))])
                }))])
            }
            progress.advance(batch.count)
        }
        progress.finish()
        try report.finish()
    }
}
