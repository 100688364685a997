import Foundation

/// One committed chunk of a `glimpse embed` output folder, read and checked whole before
/// anything of it goes into a library: `img_emb/img_emb_K.npy` (see `NPY.Matrix`) of the
/// library's width, every row finite and non-zero, and `metadata/metadata_K.jsonl` with one
/// JSON object per row, each with its record's `key`. A chunk that fails any check is
/// refused whole, so a library never holds half of a damaged chunk.
struct ImportedChunk {
    /// What a row becomes in the library.
    struct Record {
        var key: String
        var caption: String?
        /// Where the image is: an absolute path to a file on this machine, else the record's
        /// URL (a `url` field of its own metadata) or its key.
        var location: Location
    }

    enum Location: Equatable {
        case local(root: String, path: String)
        case remote(String)
    }

    let index: Int
    let embeddings: NPY.Matrix
    let records: [Record]

    var rows: Int { embeddings.rows }

    /// The chunk's file names, from the committed files its journal line lists.
    static func files(_ chunk: BulkOutput.Chunk) -> (embeddings: String, metadata: String)? {
        let embeddings = "img_emb/img_emb_\(chunk.index).npy", metadata = "metadata/metadata_\(chunk.index).jsonl"
        guard chunk.files.contains(embeddings), chunk.files.contains(metadata) else { return nil }
        return (embeddings, metadata)
    }

    init(folder: String, chunk: BulkOutput.Chunk, dimension: Int) throws {
        index = chunk.index
        guard let names = Self.files(chunk) else {
            throw GlimpseError.invalidFile(path: folder, reason: "chunk \(chunk.index) has no image embeddings and metadata files (the job embedded texts only?)")
        }
        let npyPath = (folder as NSString).appendingPathComponent(names.embeddings)
        embeddings = try NPY.Matrix(path: npyPath)
        guard embeddings.columns == dimension else {
            throw GlimpseError.invalidFile(path: npyPath, reason: "holds \(embeddings.columns)-dimensional embeddings; the library's are \(dimension)-dimensional")
        }
        guard embeddings.rows <= Limits.bulkChunkRecords else {
            throw GlimpseError.invalidFile(path: npyPath, reason: "holds \(embeddings.rows) rows; a chunk has at most \(Limits.bulkChunkRecords)")
        }
        for row in 0 ..< embeddings.rows {
            let values = embeddings.row(row)
            guard values.allSatisfy(\.isFinite) else {
                throw GlimpseError.invalidFile(path: npyPath, reason: "row \(row) holds a NaN or infinite value")
            }
            guard values.contains(where: { $0 != 0 }) else { throw GlimpseError.invalidFile(path: npyPath, reason: "row \(row) is all zeros") }
        }
        let metadataPath = (folder as NSString).appendingPathComponent(names.metadata)
        records = try Self.records(metadataPath, rows: embeddings.rows)
    }

    /// The metadata file's lines as records, exactly `rows` of them.
    static func records(_ path: String, rows: Int) throws -> [Record] {
        // A line is the job's own fields plus the input's metadata (one manifest line at most).
        let (perLine, o1) = Limits.manifestLineBytes.multipliedReportingOverflow(by: 2)
        let (limit, o2) = perLine.multipliedReportingOverflow(by: rows + 1)
        let data = try InputFile.read(path, what: "metadata file", limit: o1 || o2 ? Int.max : limit)
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count == rows else {
            throw GlimpseError.invalidFile(path: path, reason: "has \(lines.count) lines for the \(rows) embeddings of its chunk")
        }
        return try lines.enumerated().map { number, line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw GlimpseError.invalidFile(path: path, reason: "line \(number + 1) is not a JSON object")
            }
            guard let key = object["key"] as? String, !key.isEmpty else {
                throw GlimpseError.invalidFile(path: path, reason: "line \(number + 1) has no \"key\" string")
            }
            let own = object["metadata"] as? [String: Any]
            let url = (own?["url"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            return Record(key: key, caption: object["caption"] as? String,
                          location: location(imagePath: object["image_path"] as? String, url: url, key: key))
        }
    }

    /// A local file when the recorded image path is absolute and a regular file here (split
    /// as an indexed file is: its folder and its name); otherwise the URL, else the key.
    static func location(imagePath: String?, url: String?, key: String) -> Location {
        if let imagePath, imagePath.hasPrefix("/"), !imagePath.utf8.contains(0), InputFile.kind(of: imagePath) == .regular {
            let standard = URL(fileURLWithPath: imagePath).standardizedFileURL.path
            return .local(root: (standard as NSString).deletingLastPathComponent, path: (standard as NSString).lastPathComponent)
        }
        return .remote(url ?? key)
    }
}
