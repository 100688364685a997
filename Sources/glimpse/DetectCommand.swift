import ArgumentParser
import Foundation
import Glimpse

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Open-vocabulary object detection (OWL-ViT) with text or image queries.",
        discussion: """
        One object per image: {"image": ..., "width": W, "height": H, "detections": [{"label": ..., \
        "score": ..., "box": [x1, y1, x2, y2]}, ...]}, boxes in pixels of the original image, \
        highest score first. Text queries: a box's label is its best query, kept when its \
        sigmoid score is above --threshold (default 0.1). Query images: each is searched for \
        separately with NMS at --nms and the reference's score rescaling (best box = 1); \
        --threshold defaults to 0 and the label is the query image's file name. \
        Queries are embedded once for all images.
        """
    )

    @OptionGroup var options: ModelOptions

    @Argument(help: "Images to search.")
    var images: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Text queries, e.g. --query \"a cat\" \"a remote control\".")
    var query: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Query images (one-shot detection of what they show).")
    var queryImage: [String] = []

    @Option(help: "Score threshold in [0, 1] (default 0.1 for text queries, 0 for query images).")
    var threshold: Float?

    @Option(help: "IoU threshold of the non-maximum suppression for query images (1 turns it off).")
    var nms: Float = 0.3

    @Flag(help: "Cut text queries longer than the 16-token context instead of failing.")
    var truncate = false

    @Option(help: "Write the (single) image with its labelled boxes to this PNG file.")
    var draw: String?

    @Option(help: "Write each image with its labelled boxes as DIR/<name>.png.")
    var drawDir: String?

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("no images to search") }
        guard !query.isEmpty || !queryImage.isEmpty else {
            throw ValidationError("no queries: give --query TEXT... or --query-image PATH...")
        }
        guard query.isEmpty || queryImage.isEmpty else {
            throw ValidationError("give either --query or --query-image, not both")
        }
        if let blank = query.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("query \(blank + 1) is empty")
        }
        if let threshold, !(threshold >= 0 && threshold <= 1) {
            throw ValidationError("--threshold must be in [0, 1], got \(threshold)")
        }
        guard nms >= 0 && nms <= 1 else { throw ValidationError("--nms must be in [0, 1], got \(nms)") }
        guard draw == nil || drawDir == nil else { throw ValidationError("give either --draw or --draw-dir, not both") }
        if draw != nil, images.count > 1 {
            throw ValidationError("--draw takes one image; use --draw-dir DIR for \(images.count) images")
        }
    }

    func run() throws {
        options.apply()
        let owl = try options.open(OwlViT.self)
        // Queries apply to every image, so a bad query fails the command rather than one image.
        let queries = queryImage.isEmpty ? try owl.textQueries(query, truncate: truncate) : try owl.imageQueries(files: queryImage)
        if let drawDir {
            try FileManager.default.createDirectory(atPath: drawDir, withIntermediateDirectories: true)
        }
        var report = InputReport(Output(format: options.format, columns: ["image", "width", "height", "label", "score", "box"]),
                                 failFast: options.failFast)
        let progress = Progress(total: images.count, unit: "images", quiet: options.quiet)
        for batch in images.chunked(options.batchSize) {
            let results = try owl.detectEach(imageFiles: batch, queries: queries, threshold: threshold, nms: nms)
            for (path, result) in zip(batch, results) {
                guard let found = try report.value(result, name: path) else { continue }
                let sorted = found.detections.sorted { $0.score > $1.score }
                report.output.emit([("image", .string(path)), ("width", .int(found.size.width)), ("height", .int(found.size.height)),
                             ("detections", .array(sorted.map { d in
                                 .object([("label", .string(d.label)), ("score", .float(d.score)),
                                          ("box", .array(d.box.corners.map { .float($0) }))])
                             }))])
                if let target = draw ?? drawDir.map({ drawPath(dir: $0, image: path) }) {
                    // Decoded again, one image at a time, so a batch's decodes are never all held.
                    let image = try PixelBatch.decodeFile(path)
                    try PNGEncoder.write(DetectionDrawing.draw(sorted, on: image), to: URL(fileURLWithPath: target))
                }
            }
            progress.advance(batch.count)
        }
        progress.finish()
        try report.finish()
    }

    private func drawPath(dir: String, image: String) -> String {
        let name = URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent
        return URL(fileURLWithPath: dir).appendingPathComponent(name + ".png").path
    }
}
