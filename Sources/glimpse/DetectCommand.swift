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

    @Option(parsing: .unconditional, help: "Score threshold in [0, 1] (default 0.1 for text queries, 0 for query images).")
    var threshold: Float?

    @Option(parsing: .unconditional, help: "IoU threshold in [0, 1] of the non-maximum suppression for query images (1 turns it off).")
    var nms: Float = 0.3

    @Flag(help: "Cut text queries longer than the 16-token context instead of failing.")
    var truncate = false

    @Option(help: "Write the (single) image with its labelled boxes to this PNG file.")
    var draw: String?

    @Option(help: "Write each image with its labelled boxes as DIR/<name>.png.")
    var drawDir: String?

    func validate() throws {
        if images.isEmpty {
            try Check.swallowed(option: "--query-image", values: queryImage, valuesAreFiles: true, command: "detect",
                                example: ("query.jpg", "photo.jpg"))
            try Check.swallowed(option: "--query", values: query, valuesAreFiles: false, command: "detect",
                                example: ("\"a cat\"", "photo.jpg"))
            throw ValidationError("no images to search")
        }
        guard !query.isEmpty || !queryImage.isEmpty else {
            throw ValidationError("no queries: give --query TEXT... or --query-image PATH...")
        }
        guard query.isEmpty || queryImage.isEmpty else {
            throw ValidationError("give either --query or --query-image, not both")
        }
        try Check.range(query.count + queryImage.count, "the number of queries", 1 ... Limits.queries)
        try Check.names(query, "--query", "query")
        try Check.noImagePaths(query, option: "--query", command: "detect")
        if truncate, !queryImage.isEmpty {
            throw ValidationError("--truncate applies to text queries only; it has no meaning with --query-image")
        }
        try Check.unit(threshold, "--threshold")
        try Check.unit(nms, "--nms")
        guard draw == nil || drawDir == nil else { throw ValidationError("give either --draw or --draw-dir, not both") }
        if draw != nil, images.count > 1 {
            throw ValidationError("--draw takes one image; use --draw-dir DIR for \(images.count) images")
        }
        for (option, path) in [("--draw", draw), ("--draw-dir", drawDir)] {
            if let path, path.isEmpty { throw ValidationError("\(option) is an empty path") }
        }
        // Checked before the model loads; a failure here is about the file system (exit 1).
        if let drawDir, InputFile.kind(of: drawDir) != .missing, InputFile.kind(of: drawDir) != .directory {
            throw GlimpseError.invalidFile(path: drawDir, reason: "exists and is not a directory (--draw-dir takes a folder)")
        }
        if let draw, InputFile.kind(of: draw) == .directory {
            throw GlimpseError.invalidFile(path: draw, reason: "is a directory; --draw takes a PNG file name (--draw-dir takes a folder)")
        }
        if let draw {
            let folder = URL(fileURLWithPath: draw).deletingLastPathComponent().path
            guard InputFile.kind(of: folder) == .directory else {
                throw GlimpseError.invalidFile(path: draw, reason: "cannot be written: \(folder) is not an existing folder")
            }
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
