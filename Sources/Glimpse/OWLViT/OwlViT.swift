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
public final class OwlViT: Sendable {
    public let model: OwlViTForObjectDetection
    public let checkpoint: Checkpoint
    private let tokenizerResult: Background<CLIPTokenizer>
    private let preprocessorResult: Result<ImagePreprocessor, GlimpseError>

    public init(folder path: String) throws {
        checkpoint = try Checkpoint(folder: path)
        model = try OwlViTForObjectDetection(checkpoint: checkpoint)
        let folder = checkpoint.folder
        var defaults = PreprocessorConfig()
        let size = model.config.vision.imageSize
        defaults.size = .exact(height: size, width: size)
        defaults.doCenterCrop = false
        (defaults.cropHeight, defaults.cropWidth) = (size, size)
        tokenizerResult = Background { try CLIPTokenizer.load(folder: folder) }
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
        let preprocessor = try self.preprocessor
        let size = model.config.vision.imageSize
        let pixels = Tensor(zeros: [images.count, 3, size, size])
        try preprocessor.pixelValues(images, height: size, width: size, into: UnsafeMutableBufferPointer(start: pixels.data, count: pixels.count)) { Parallel.forEach($0, $1) }
        return pixels
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
        let map = try featureMap(images)
        let boxes = model.boxes(map)
        let dim = model.config.projectionDim
        let embeddings = Tensor(zeros: [images.count, dim])
        var patches: [Int] = []
        for i in 0..<images.count {
            let classEmbeddings = model.classHead.embeddings(map.image(i))
            let rows = boxes.rows(i * map.patches ..< (i + 1) * map.patches)
            guard let p = OwlViTPostprocessing.imageQueryIndex(classEmbeddings: classEmbeddings, boxes: rows) else {
                throw GlimpseError.invalidArgument("query image \(labels[i]): no predicted box overlaps the image enough to serve as a query")
            }
            (embeddings.data + i * dim).update(from: classEmbeddings.data + p * dim, count: dim)
            patches.append(p)
        }
        return OwlViTQueries(kind: .image, labels: labels, embeddings: embeddings, queryPatches: patches)
    }

    /// Pixel scale of normalised boxes: OWL-ViT squashes images, so x spans the width and
    /// y the height (a padding preprocessor, as OWLv2's, would use the longer side for both).
    public func boxScale(for image: RGBImage) -> (x: Float, y: Float) { (Float(image.width), Float(image.height)) }

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
        if let threshold, !(0...1).contains(threshold) {
            throw GlimpseError.invalidArgument("threshold \(threshold) is outside [0, 1]")
        }
        guard (0...1).contains(nms) else { throw GlimpseError.invalidArgument("NMS IoU threshold \(nms) is outside [0, 1]") }
        if images.isEmpty { return [] }
        let map = try featureMap(images)
        let boxes = model.boxes(map)
        return images.indices.map { i in
            let queries = perImageQueries[i]
            let rows = boxes.rows(i * map.patches ..< (i + 1) * map.patches)
            let (sx, sy) = boxScale(for: images[i])
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
