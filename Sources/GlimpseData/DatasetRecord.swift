import Foundation
import GlimpseBase

/// Where a record's image is: a file on disk (manifests, folders), bytes read out of an
/// archive member (WebDataset shards), or a reference to a member of an uncompressed shard
/// (the header's offset), named for messages and for the image decoder.
public enum DatasetImage: Equatable, Sendable {
    case file(path: String)
    case memory(name: String, bytes: [UInt8])
    case archiveMember(shard: String, offset: Int64, name: String)

    /// The file path, or the archive member's name.
    public var name: String {
        switch self {
        case .file(let path): return path
        case .memory(let name, _): return name
        case .archiveMember(_, _, let name): return name
        }
    }

    /// The bytes of an in-memory or referenced image (a referenced member is read again from
    /// its shard, checked to be the member named, at most `limit` bytes); nil for a file.
    public func memberBytes(limit: Int = Limits.imageFileBytes) throws -> [UInt8]? {
        switch self {
        case .file: return nil
        case .memory(_, let bytes): return bytes
        case .archiveMember(let shard, let offset, let name):
            return try TarArchive.member(shard: shard, offset: offset, name: name, limit: limit)
        }
    }
}

/// One image–text pair of a dataset, as a bulk job consumes it.
public struct DatasetRecord: Equatable, Sendable {
    /// Unique within the dataset and the same on every read: `FILE:LINE` for manifests,
    /// the image path for folders, `SHARD:KEY` for WebDataset shards.
    public var key: String
    /// Where it came from, for messages: a file and line, a path, or a shard and member.
    public var source: String
    public var image: DatasetImage
    /// The caption; `nil` where the input has none.
    public var text: String?
    /// The record's JSON object as written (a manifest line, a shard's `.json` member, a CSV
    /// row turned into an object), so outputs can carry the input's own fields through.
    public var metadata: String?

    public init(key: String, source: String, image: DatasetImage, text: String? = nil, metadata: String? = nil) {
        self.key = key
        self.source = source
        self.image = image
        self.text = text
        self.metadata = metadata
    }
}

/// A record that could not be read, and why: what a bulk job writes to its errors file
/// before going on with the next record.
public struct DatasetFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var key: String
    public var source: String
    /// In plain words: what was expected and what was found.
    public var reason: String

    public init(key: String, source: String, reason: String) {
        self.key = key
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

/// What every dataset reader yields, in order: a record, or the failure that replaces it.
public typealias DatasetItem = Result<DatasetRecord, DatasetFailure>

/// Which fields hold the image and the caption, and whether a caption is required.
public struct DatasetFields: Equatable, Sendable {
    /// The manifest / CSV field holding the image path.
    public var image: String
    /// The manifest / CSV field holding the caption; `nil` reads images only.
    public var text: String?
    /// Fields of a shard's `.json` member tried in turn for the caption when there is no `.txt`.
    public var captionFields: [String]
    /// A record without a caption, or with an empty one, is a failure instead.
    public var requireText: Bool

    public init(image: String = "image", text: String? = "text",
                captionFields: [String] = ["caption", "text"], requireText: Bool = false) {
        self.image = image
        self.text = text
        self.captionFields = captionFields
        self.requireText = requireText
    }

    /// `text` as the record's caption, or the failure reason when it is missing but required.
    func caption(_ text: String?) -> Result<String?, ReasonOnly> {
        guard let text, !text.isEmpty else {
            return requireText ? .failure(ReasonOnly(text == nil ? "has no text" : "has an empty text")) : .success(nil)
        }
        return .success(text)
    }
}

/// A failure reason before the key and source are attached.
struct ReasonOnly: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
