import Foundation
import GlimpseCore
import GlimpseImage
import GlimpseText

/// A query set, embedded once and reused for every image searched (the text side of
/// detection costs as much as a small image, so it is never recomputed per image).
public struct OwlViTQueries: Sendable {
    public enum Kind: Sendable { case text, image }
    public let kind: Kind
    /// One label per query: the text, or the query image's name.
    public let labels: [String]
    /// [queries, projection]: normalised text embeddings, or the class embeddings picked
    /// from the query images (the class head normalises both).
    public let embeddings: Tensor
    /// Image queries: the patch chosen in each query image.
    public let queryPatches: [Int]
}

/// An OWL-ViT checkpoint ready for use on files and strings: the network plus its tokenizer
/// (CLIP's, context 16) and image preprocessor (squash to the input square, bicubic, CLIP
/// mean/std), and the reference's post-processing. What transformers splits into
/// `OwlViTForObjectDetection` and `OwlViTProcessor`.
public final class OwlViT: CheckpointLoadable, Sendable {
    public let model: OwlViTForObjectDetection
    public let checkpoint: Checkpoint
    private let tokenizerResult: Background<CLIPTokenizer>
    private let preprocessorResult: Result<ImagePreprocessor, GlimpseError>

    /// Loads an OWL-ViT folder (`init(model:)` also takes a Hub id).
    public init(checkpoint: Checkpoint) throws {
        self.checkpoint = checkpoint
        model = try OwlViTForObjectDetection(checkpoint: checkpoint)
        let folder = checkpoint.folder
        var defaults = PreprocessorConfig()
        let size = model.config.vision.imageSize
        defaults.size = .exact(height: size, width: size)
        defaults.doCenterCrop = false
        (defaults.cropHeight, defaults.cropWidth) = (size, size)
        tokenizerResult = checkpoint.clipTokenizerInBackground(embeddingRows: model.config.text.vocabularySize)
        preprocessorResult = Result {
            let p = try ImagePreprocessor.load(folder: folder, defaults: defaults, squareIntegerSize: true)
            try p.validate(forModelInput: size, size); return p
        }.mapError(GlimpseError.wrap)
    }

    public var tokenizer: CLIPTokenizer { get throws { do { return try tokenizerResult.get() } catch { throw GlimpseError.wrap(error) } } }
    public var preprocessor: ImagePreprocessor { get throws { try preprocessorResult.get() } }
    /// 16 for every released OWL-ViT: longer queries are an error unless truncated.
    public var contextLength: Int { model.config.text.maxPositions }

    public func tokenize(_ text: String, truncate: Bool = false) throws -> [Int] {
        try tokenizer.tokenize(text, contextLength: contextLength, truncate: truncate)
    }

    /// Pixel values [B, 3, S, S]: each image squashed to the model's square input.
    public func pixelValues(_ images: [RGBImage]) throws -> Tensor {
        try PixelBatch(images: images, preprocessor: preprocessor, size: model.config.vision.imageSize).pixels
    }

    /// Image files decoded one at a time into pixel values; unreadable files fail on their own.
    public func pixelBatch(imageFiles: [String]) throws -> PixelBatch {
        try PixelBatch(files: imageFiles, preprocessor: preprocessor, size: model.config.vision.imageSize)
    }

    public func featureMap(_ images: [RGBImage]) throws -> OwlViTFeatureMap {
        try model.featureMap(pixels: pixelValues(images))
    }

    /// Embeds text queries once. A query longer than the 16-token context throws
    /// `textTooLong` unless `truncate` (then cut as transformers' `truncation=True`: end token kept).
    public func textQueries(_ texts: [String], truncate: Bool = false) throws -> OwlViTQueries {
        guard !texts.isEmpty else { throw GlimpseError.invalidArgument("no text queries") }
        let ids = try texts.map { try tokenize($0, truncate: truncate) }
        return OwlViTQueries(kind: .text, labels: texts, embeddings: try model.textEmbeddings(ids: ids), queryPatches: [])
    }

    /// Embeds query images for one-shot detection: in each, the class embedding of the most
    /// distinctive box covering most of the image (the reference's `embed_image_query`).
    public func imageQueries(_ images: [RGBImage], labels: [String]) throws -> OwlViTQueries {
        guard !images.isEmpty else { throw GlimpseError.invalidArgument("no query images") }
        guard labels.count == images.count else {
            throw GlimpseError.invalidArgument("\(labels.count) labels for \(images.count) query images")
        }
        return try imageQueries(pixels: pixelValues(images), labels: labels)
    }

    private func imageQueries(pixels: Tensor, labels: [String]) throws -> OwlViTQueries {
        let count = pixels.shape[0]
        let map = try model.featureMap(pixels: pixels)
        let boxes = model.boxes(map)
        let dim = model.config.projectionDim
        var picked: [Tensor] = []
        var patches: [Int] = []
        for i in 0..<count {
            let classEmbeddings = model.classHead.embeddings(map.image(i))
            let rows = boxes.rows(i * map.patches ..< (i + 1) * map.patches)
            guard let p = OwlViTPostprocessing.imageQueryIndex(classEmbeddings: classEmbeddings, boxes: rows) else {
                throw GlimpseError.invalidArgument("query image \(labels[i]): no predicted box overlaps the image enough to serve as a query")
            }
            picked.append(classEmbeddings.gatherRows([p]))
            patches.append(p)
        }
        return OwlViTQueries(kind: .image, labels: labels, embeddings: Tensor.concatenatingRows(picked, rowShape: [dim]),
                             queryPatches: patches)
    }

    /// Query images read from files (decoded one at a time), labelled with their file names.
    /// Queries are shared by every image searched, so an unreadable query file throws.
    public func imageQueries(files: [String]) throws -> OwlViTQueries {
        guard !files.isEmpty else { throw GlimpseError.invalidArgument("no query images") }
        let batch = try pixelBatch(imageFiles: files)
        for case .failure(let error) in batch.inputs { throw error }
        return try imageQueries(pixels: batch.pixels, labels: files.map { URL(fileURLWithPath: $0).lastPathComponent })
    }

    /// Pixel scale of normalised boxes: OWL-ViT squashes images, so x spans the width and
    /// y the height (a padding preprocessor, as OWLv2's, would use the longer side for both).
    public func boxScale(for image: RGBImage) -> (x: Float, y: Float) { boxScale(for: ImageSize(width: image.width, height: image.height)) }
    /// As `boxScale(for:)`, from the image's size alone.
    public func boxScale(for size: ImageSize) -> (x: Float, y: Float) { (Float(size.width), Float(size.height)) }

    /// Detections per image, boxes in pixels of each original image.
    ///
    /// Text queries: each patch's best query, kept when its sigmoid score is above
    /// `threshold` (default 0.1, the reference's). Image queries: each query image is
    /// searched for on its own — exactly the reference's `image_guided_detection` for that
    /// (image, query) pair — with greedy NMS at IoU `nms` and the reference's score
    /// rescaling; `threshold` defaults to 0.
    public func detect(_ images: [RGBImage], queries: OwlViTQueries, threshold: Float? = nil, nms: Float = 0.3) throws -> [[Detection]] {
        try detect(images, perImageQueries: Array(repeating: queries, count: images.count), threshold: threshold, nms: nms)
    }

    /// As `detect(_:queries:)` with each image's own query set (lists of different lengths).
    public func detect(_ images: [RGBImage], perImageQueries: [OwlViTQueries], threshold: Float? = nil, nms: Float = 0.3) throws -> [[Detection]] {
        guard perImageQueries.count == images.count else {
            throw GlimpseError.invalidArgument("\(perImageQueries.count) query sets for \(images.count) images")
        }
        try checkThresholds(threshold, nms)
        if images.isEmpty { return [] }
        return try detections(pixels: pixelValues(images), sizes: images.map { ImageSize(width: $0.width, height: $0.height) },
                          perImageQueries: perImageQueries, threshold: threshold, nms: nms)
    }

    /// Detections in image files, one result per file in input order: a file that cannot be
    /// read or decoded fails on its own and the others are searched. Files are decoded one at
    /// a time (see `PixelBatch`).
    public func detectEach(imageFiles: [String], queries: OwlViTQueries, threshold: Float? = nil,
                           nms: Float = 0.3) throws -> [InputResult<DetectedImage>] {
        try checkThresholds(threshold, nms)
        let batch = try pixelBatch(imageFiles: imageFiles)
        return try batch.inputs.mapReady { sizes in
            let found = try detections(pixels: batch.pixels, sizes: sizes, perImageQueries: Array(repeating: queries, count: sizes.count),
                                   threshold: threshold, nms: nms)
            return zip(sizes, found).map { DetectedImage(size: $0, detections: $1) }
        }
    }

    private func checkThresholds(_ threshold: Float?, _ nms: Float) throws {
        if let threshold, !(0...1).contains(threshold) {
            throw GlimpseError.invalidArgument("threshold \(threshold) is outside [0, 1]")
        }
        guard (0...1).contains(nms) else { throw GlimpseError.invalidArgument("NMS IoU threshold \(nms) is outside [0, 1]") }
    }

    private func detections(pixels: Tensor, sizes: [ImageSize], perImageQueries: [OwlViTQueries],
                            threshold: Float?, nms: Float) throws -> [[Detection]] {
        let map = try model.featureMap(pixels: pixels)
        let boxes = model.boxes(map)
        return sizes.indices.map { i in
            let queries = perImageQueries[i]
            let rows = boxes.rows(i * map.patches ..< (i + 1) * map.patches)
            let (sx, sy) = boxScale(for: sizes[i])
            switch queries.kind {
            case .text:
                let logits = model.logits(map, image: i, queries: queries.embeddings).logits
                return OwlViTPostprocessing.textDetections(logits: logits, boxes: rows, labels: queries.labels,
                                                           threshold: threshold ?? 0.1, scaleX: sx, scaleY: sy)
            case .image:
                return queries.labels.indices.flatMap { q in
                    let one = queries.embeddings.rows(q ..< q + 1)
                    let logits = model.logits(map, image: i, queries: one).logits
                    return OwlViTPostprocessing.imageGuidedDetections(
                        logits: logits, boxes: rows, labels: [queries.labels[q]], threshold: threshold ?? 0, nms: nms,
                        scaleX: sx, scaleY: sy
                    ).map { var d = $0; d.query = q; return d }
                }
            }
        }
    }
}

/// One searched image: its size as decoded (boxes are in its pixels) and what was found.
public struct DetectedImage: Sendable {
    public let size: ImageSize
    public let detections: [Detection]
}
