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
    }

    func run() throws {
        let truth = try groundTruth.flatMap { try GroundTruthImage.load(contentsOf: URL(fileURLWithPath: $0)) }
        let found = try Self.loadDetections(detections)
        let byName = Dictionary(found.map { ($0.name, $0.detections) }, uniquingKeysWith: { a, _ in a })
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
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw GlimpseError.fileNotFound(path: path, what: "detections file")
        }
        return try text.split(whereSeparator: \.isNewline).enumerated().map { n, line in
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let image = record["image"] as? String, let list = record["detections"] as? [[String: Any]] else {
                throw GlimpseError.invalidFile(path: path, reason: "line \(n + 1) is not a `glimpse detect` record with \"image\" and \"detections\"")
            }
            let detections = try list.map { d -> Detection in
                guard let label = d["label"] as? String, let score = (d["score"] as? NSNumber)?.floatValue,
                      let box = (d["box"] as? [NSNumber])?.map(\.floatValue), box.count == 4 else {
                    throw GlimpseError.invalidFile(path: path, reason: "line \(n + 1): a detection needs \"label\", \"score\" and \"box\": [x1, y1, x2, y2]")
                }
                return Detection(label: label, query: 0, score: score, box: BoundingBox(x1: box[0], y1: box[1], x2: box[2], y2: box[3]), patch: 0)
            }
            return (URL(fileURLWithPath: image).lastPathComponent, detections)
        }
    }
}
