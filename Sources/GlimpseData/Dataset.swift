import Foundation
import GlimpseBase

/// One input of a dataset and how it is read.
public struct DatasetInput: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case jsonLines, csv, tsv, folder, webDataset
    }

    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// The kind told by what `path` is: a folder, or a file by its extension (`.jsonl`,
    /// `.ndjson`, `.json`; `.csv`; `.tsv`, `.tab`; `.tar`, `.tar.gz`, `.tgz`).
    public init(path: String) throws {
        self.path = path
        switch InputFile.kind(of: path) {
        case .missing: throw GlimpseError.fileNotFound(path: path, what: "dataset input")
        case .directory: kind = .folder; return
        case .other(let description):
            throw GlimpseError.invalidFile(path: path, reason: "is \(description), not a dataset manifest, folder or shard")
        case .regular: break
        }
        let name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { kind = .jsonLines }
        else if name.hasSuffix(".csv") { kind = .csv }
        else if name.hasSuffix(".tsv") || name.hasSuffix(".tab") { kind = .tsv }
        else if name.hasSuffix(".tar") || name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz") { kind = .webDataset }
        else {
            throw GlimpseError.invalidFile(path: path, reason: "is not a dataset input Glimpse knows by its extension (expected .jsonl, .csv, .tsv, .tar, .tar.gz, .tgz or a folder)")
        }
    }

    /// A fresh reader of this input. With `imagesByReference`, images of uncompressed shards
    /// come as `.archiveMember` references instead of bytes (see `WebDatasetReader`).
    public func reader(fields: DatasetFields, imagesByReference: Bool = false) -> AnyIterator<DatasetItem> {
        switch kind {
        case .jsonLines: return AnyIterator(JSONLinesReader(path: path, fields: fields))
        case .csv: return AnyIterator(CSVManifestReader(path: path, delimiter: ",", fields: fields))
        case .tsv: return AnyIterator(CSVManifestReader(path: path, delimiter: "\t", fields: fields))
        case .folder: return AnyIterator(FolderReader(path: path, fields: fields))
        case .webDataset: return AnyIterator(WebDatasetReader(path: path, fields: fields, imagesByReference: imagesByReference))
        }
    }
}

/// The front door for bulk jobs: inputs of any kind read one after another, in the order
/// given, as one stream of records and failures. Each iteration reads the inputs afresh
/// and yields the same items in the same order; only one input is open at a time.
public struct Dataset: Sequence, Sendable {
    public var inputs: [DatasetInput]
    public var fields: DatasetFields
    /// Images of uncompressed shards as references, read when needed (a training run indexes
    /// every record first and must not hold every image).
    public var imagesByReference = false

    public init(inputs: [DatasetInput], fields: DatasetFields = DatasetFields()) {
        self.inputs = inputs
        self.fields = fields
    }

    /// Inputs told apart by `DatasetInput(path:)`; an unknown or missing one is an error.
    public init(paths: [String], fields: DatasetFields = DatasetFields()) throws {
        self.init(inputs: try paths.map { try DatasetInput(path: $0) }, fields: fields)
    }

    public func makeIterator() -> Iterator { Iterator(inputs: inputs, fields: fields, imagesByReference: imagesByReference) }

    public struct Iterator: IteratorProtocol {
        private let inputs: [DatasetInput]
        private let fields: DatasetFields
        private var position = 0
        private var current: AnyIterator<DatasetItem>?
        private var folder: FolderReader?
        private var skippedBefore = 0
        private let imagesByReference: Bool

        /// Files in the folders read so far that were neither images nor their sidecars.
        public var skippedFiles: Int { skippedBefore + (folder?.skippedFiles ?? 0) }

        init(inputs: [DatasetInput], fields: DatasetFields, imagesByReference: Bool) {
            self.inputs = inputs
            self.fields = fields
            self.imagesByReference = imagesByReference
        }

        public mutating func next() -> DatasetItem? {
            while true {
                if let item = current?.next() { return item }
                skippedBefore += folder?.skippedFiles ?? 0
                folder = nil
                guard position < inputs.count else { current = nil; return nil }
                let input = inputs[position]
                if input.kind == .folder {
                    let reader = FolderReader(path: input.path, fields: fields)
                    folder = reader
                    current = AnyIterator(reader)
                } else {
                    current = input.reader(fields: fields, imagesByReference: imagesByReference)
                }
                position += 1
            }
        }
    }

    /// The items of `shard` only: those whose position in the whole stream (records and
    /// failures counted alike) is `shard.index` modulo `shard.count`, so N workers given
    /// `0/N` … `N-1/N` together see every item exactly once.
    public func items(in shard: DatasetShard) -> some Sequence<(position: Int, item: DatasetItem)> {
        self.enumerated().lazy
            .filter { shard.contains($0.offset) }
            .map { (position: $0.offset, item: $0.element) }
    }
}

/// A static partition of a dataset, `i/N` on the command line (`--shard i/N`).
public struct DatasetShard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole dataset.
    public static let all = DatasetShard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex: Int, count: Int) {
        self.index = uncheckedIndex
        self.count = count
    }

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Limits.datasetShards else {
            throw GlimpseError.invalidArgument("shard count \(count) is out of range: expected 1 to \(Limits.datasetShards)")
        }
        guard index >= 0, index < count else {
            throw GlimpseError.invalidArgument("shard index \(index) is out of range: expected 0 to \(count - 1) for \(count) shards")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// `"i/N"`, both decimal integers.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw GlimpseError.invalidArgument("shard '\(text)' is not of the form i/N (for example 0/4)")
        }
        try self.init(index: index, count: count)
    }

    public func contains(_ position: Int) -> Bool { position % count == index }

    public var description: String { "\(index)/\(count)" }
}
