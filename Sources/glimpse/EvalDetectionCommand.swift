import ArgumentParser
import Foundation
import Glimpse

struct EvalDetectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-detection",
        abstract: "COCO-style AP@[.5:.95], AP50 and AP75 of detections against ground truth.",
        discussion: """
        --detections: the JSON Lines `glimpse detect` writes. --ground-truth: files of \
        {"image": NAME, "objects": [{"label": ..., "box_xyxy": [x1, y1, x2, y2]}]} (one object or a \
        list). Images are matched by file name; labels by string (query with the ground-truth \
        class names). Prints {"AP": ..., "AP50": ..., "AP75": ..., "images": N, "classes": [...]}.
        """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "Ground-truth JSON files.")
    var groundTruth: [String] = []

    @Option(help: "Detections as JSON Lines from `glimpse detect`.")
    var detections: String

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    func validate() throws {
        guard !groundTruth.isEmpty else { throw ValidationError("no ground truth: give --ground-truth FILE...") }
        if let blank = groundTruth.firstIndex(of: "") { throw ValidationError("file \(blank + 1) of --ground-truth is an empty path") }
        guard !detections.isEmpty else { throw ValidationError("--detections is an empty path") }
    }

    func run() throws {
        let truth = try GroundTruthImage.load(files: groundTruth)
        let found = try Self.loadDetections(detections)
        let byName = Dictionary(found.map { ($0.name, $0.detections) }, uniquingKeysWith: { a, _ in a })
        guard truth.contains(where: { byName[URL(fileURLWithPath: $0.image).lastPathComponent] != nil }) else {
            throw GlimpseError.invalidFile(path: detections, reason: "names none of the ground truth's images (images are matched by file name)")
        }
        let result = DetectionEvaluation.evaluate(groundTruth: truth, detections: truth.map { byName[URL(fileURLWithPath: $0.image).lastPathComponent] ?? [] })
        var output = Output(format: format, columns: ["AP", "AP50", "AP75", "images", "label", "ap", "ap50", "ground_truth", "detections"])
        output.emit([("AP", .float(Float(result.ap))), ("AP50", .float(Float(result.ap50))), ("AP75", .float(Float(result.ap75))),
                     ("images", .int(truth.count)),
                     ("classes", .array(result.classes.map { c in
                         .object([("label", .string(c.label)), ("ap", .float(Float(c.ap))), ("ap50", .float(Float(c.ap50))),
                                  ("ground_truth", .int(c.groundTruth)), ("detections", .int(c.detections))])
                     }))])
        output.finish()
    }

    /// Each line's image file name and detections.
    static func loadDetections(_ path: String) throws -> [(name: String, detections: [Detection])] {
        try DetectionsFile.load(path).map { ($0.name, $0.detections) }
    }
}
