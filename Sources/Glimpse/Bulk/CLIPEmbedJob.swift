import Foundation
import GlimpseCore
import GlimpseData

/// Bulk CLIP embedding (clip-retrieval's inference step): image and/or text embeddings of
/// every record, written per chunk K as `img_emb/img_emb_K.npy` and `text_emb/text_emb_K.npy`
/// ([n, dim] float32 or float16) and `metadata/metadata_K.jsonl` (one object per row, same
/// order: key, source, image_path, caption, and the input's own fields as `metadata`).
///
/// The numbers are those of `CLIP.embedEach(imageFiles:)` / `embedEach(texts:)`. With
/// `.both`, a record whose image or text fails is a failure as a whole, so the rows of the
/// image and text files stay aligned.
public struct CLIPEmbedJob: BulkJob {
    public enum Kind: String, Sendable, CaseIterable {
        case image, text, both
        var images: Bool { self != .text }
        var texts: Bool { self != .image }
    }

    public let clip: CLIP
    public let kind: Kind
    public let dtype: NPY.DType
    /// L2-normalised (the default), or the raw projected features.
    public let normalize: Bool
    /// Cut texts longer than the context instead of failing them.
    public let truncate: Bool
    private let prefetcher: ImagePrefetcher?

    public init(clip: CLIP, kind: Kind = .image, dtype: NPY.DType = .float32, normalize: Bool = true, truncate: Bool = false) throws {
        self.clip = clip
        self.kind = kind
        self.dtype = dtype
        self.normalize = normalize
        self.truncate = truncate
        prefetcher = kind.images ? try ImagePrefetcher(clip: clip) : nil
        if kind.texts { _ = try clip.tokenizer }
    }

    public var fingerprint: String {
        "embed model=\(clip.checkpoint.folder.standardizedFileURL.path) kind=\(kind.rawValue) dtype=\(dtype.rawValue) normalize=\(normalize) truncate=\(truncate)"
    }

    /// The model (so that `glimpse index --import` can check the embeddings are of the
    /// library's model) and the kind, in the journal's first line.
    public var journalHeader: [(String, BulkJSON)] {
        let folder = clip.checkpoint.folder.standardizedFileURL.path
        let (id, revision) = ModelFingerprint.identity(folder: folder)
        var model: [(String, BulkJSON)] = [("id", .string(id)), ("revision", revision.map { BulkJSON.string($0) } ?? BulkJSON.null)]
        model.append(("fingerprint", (try? ModelFingerprint.of(folder: folder)).map { BulkJSON.string($0) } ?? BulkJSON.null))
        model.append(("dimension", .int(clip.model.embeddingDim)))
        return [("model", .object(model)), ("kind", .string(kind.rawValue)), ("dtype", .string(dtype.rawValue)),
                ("normalize", .bool(normalize))]
    }

    public struct Prepared: Sendable {
        var pixels: PixelBatch?
        var ids: [InputResult<[Int]>] = []
    }

    /// One record's embeddings (those of the job's kind).
    public struct Output: Sendable {
        public var image: [Float]?
        public var text: [Float]?
    }

    public func prepare(_ records: [DatasetRecord]) throws -> Prepared {
        var prepared = Prepared()
        if let prefetcher { prepared.pixels = try prefetcher.pixels(for: records.map(\.image)) }
        if kind.texts {
            prepared.ids = records.map { record in
                guard let text = record.text else { return .failure(.invalidArgument("has no text")) }
                guard !text.isEmpty else { return .failure(.invalidArgument("has an empty text")) }
                return attempt { try clip.tokenize(text, truncate: truncate) }
            }
        }
        return prepared
    }

    public func process(_ records: [DatasetRecord], prepared: Prepared) throws -> [Result<Output, DatasetFailure>] {
        var images: [InputResult<[Float]>]?
        if let pixels = prepared.pixels {
            images = try pixels.inputs.mapReady { _ in try imageRows(pixels.pixels) }
        }
        var texts: [InputResult<[Float]>]?
        if kind.texts {
            texts = try prepared.ids.mapReady { ids in
                let features = try clip.model.textFeatures(ids: ids)
                if normalize { l2NormalizeInPlace(features) }
                return features.rowArrays
            }
        }
        return records.indices.map { i in
            let record = records[i]
            func fail(_ error: GlimpseError, _ what: String) -> Result<Output, DatasetFailure> {
                let reason = error.description
                return .failure(DatasetFailure(key: record.key, source: record.source,
                                               reason: reason.hasPrefix("has ") ? "\(what) \(reason)" : reason))
            }
            var output = Output()
            if let images {
                switch images[i] {
                case .success(let row): output.image = row
                case .failure(let error): return fail(error, "image")
                }
            }
            if let texts {
                switch texts[i] {
                case .success(let row): output.text = row
                case .failure(let error): return fail(error, "record")
                }
            }
            return .success(output)
        }
    }

    /// Image features of the decoded rows, `CLIPModel.imagesPerPass` per forward pass as
    /// `CLIP.embedEach(imageFiles:)` runs them.
    private func imageRows(_ pixels: Tensor) throws -> [[Float]] {
        let count = pixels.shape.first ?? 0
        var rows: [[Float]] = []
        for start in stride(from: 0, to: count, by: CLIPModel.imagesPerPass) {
            let features = try clip.model.imageFeatures(pixels: pixels.rows(start ..< min(start + CLIPModel.imagesPerPass, count)))
            if normalize { l2NormalizeInPlace(features) }
            rows += features.rowArrays
        }
        return rows
    }

    public func makeChunkWriter(chunk index: Int, staging: BulkStaging) throws -> EmbeddingChunkWriter {
        try EmbeddingChunkWriter(chunk: index, staging: staging, kind: kind, dtype: dtype, dim: clip.model.embeddingDim)
    }

    public func streamFields(_ record: DatasetRecord, _ output: Output) -> [(String, BulkJSON)] {
        var fields = EmbeddingChunkWriter.metadataFields(record)
        if let image = output.image { fields.append(("image_embedding", .floats(image))) }
        if let text = output.text { fields.append(("text_embedding", .floats(text))) }
        return fields
    }
}

/// One chunk of the clip-retrieval layout: metadata lines streamed to their file as records
/// come, embeddings held until `finish` writes the `.npy` files (their header needs the count).
public struct EmbeddingChunkWriter: BulkChunkWriter {
    private let metadata: BulkFile
    private let imageFile: BulkFile?
    private let textFile: BulkFile?
    private let dtype: NPY.DType
    private let dim: Int
    private var images: [Float] = []
    private var texts: [Float] = []
    private var rows = 0

    init(chunk: Int, staging: BulkStaging, kind: CLIPEmbedJob.Kind, dtype: NPY.DType, dim: Int) throws {
        imageFile = kind.images ? try staging.create("img_emb/img_emb_\(chunk).npy") : nil
        textFile = kind.texts ? try staging.create("text_emb/text_emb_\(chunk).npy") : nil
        metadata = try staging.create("metadata/metadata_\(chunk).jsonl")
        self.dtype = dtype
        self.dim = dim
    }

    /// key, source, image_path, caption and the input's own fields, for metadata and streamed lines.
    static func metadataFields(_ record: DatasetRecord) -> [(String, BulkJSON)] {
        [("image_path", .string(record.image.name)), ("caption", record.text.map { .string($0) } ?? .null),
         ("metadata", record.metadata.map { .raw($0) } ?? .null)]
    }

    public mutating func append(_ record: DatasetRecord, _ output: CLIPEmbedJob.Output) throws {
        if imageFile != nil { images += try row(output.image, record) }
        if textFile != nil { texts += try row(output.text, record) }
        let line = BulkJSON.object([("key", .string(record.key)), ("source", .string(record.source))] + Self.metadataFields(record))
        try metadata.write(line.text + "\n")
        rows += 1
    }

    private func row(_ values: [Float]?, _ record: DatasetRecord) throws -> [Float] {
        guard let values, values.count == dim else {
            throw GlimpseError.invalidArgument("\(record.source): embedding has \(values?.count ?? 0) values, expected \(dim)")
        }
        return values
    }

    public mutating func finish() throws {
        if let imageFile { try NPY.write(images, rows: rows, columns: dim, dtype: dtype, to: imageFile) }
        if let textFile { try NPY.write(texts, rows: rows, columns: dim, dtype: dtype, to: textFile) }
        images = []
        texts = []
    }
}
