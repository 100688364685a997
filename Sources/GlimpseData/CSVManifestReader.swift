import CSV
import Foundation
import GlimpseBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A CSV or TSV manifest with a header row naming its columns (`image`, `text` by default),
/// parsed as a stream with CSV.swift (quoted fields may hold delimiters, quotes and newlines).
/// Rows are keyed `FILE:ROW`, the header being row 1; a bad row is a failure and reading goes
/// on; a row past `Limits.manifestLineBytes` or text that is not UTF-8 ends the file with one.
public final class CSVManifestReader: IteratorProtocol, Sequence {
    public let path: String
    public let fields: DatasetFields
    private let folder: String
    private var stream: BoundedFileStream?
    private var reader: CSVReader?
    private var header: [String] = []
    private var pending: DatasetFailure?
    private var row = 1

    /// `delimiter` is `","` for CSV and `"\t"` for TSV.
    public init(path: String, delimiter: UnicodeScalar = ",", fields: DatasetFields = DatasetFields()) {
        self.path = path
        self.fields = fields
        self.folder = ManifestImage.folder(of: path)
        let what = delimiter == "\t" ? "TSV manifest" : "CSV manifest"
        do {
            switch InputFile.kind(of: path) {
            case .missing: throw GlimpseError.fileNotFound(path: path, what: what)
            case .directory: throw GlimpseError.invalidFile(path: path, reason: "is a directory, not a \(what)")
            case .other(let kind): throw GlimpseError.invalidFile(path: path, reason: "is \(kind), not a \(what)")
            case .regular: break
            }
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else {
                throw GlimpseError.invalidFile(path: path, reason: "cannot be opened for reading (\(String(cString: strerror(errno))))")
            }
            let stream = BoundedFileStream(fd: fd, limit: Limits.manifestLineBytes)
            let reader: CSVReader
            do {
                reader = try CSVReader(stream: stream, hasHeaderRow: true, delimiter: delimiter)
            } catch {
                throw GlimpseError.invalidFile(path: path, reason: stream.overLimit ? "has a header row longer than \(Limits.manifestLineBytes) bytes" : "has no readable header row (\(error))")
            }
            guard !stream.overLimit else {
                throw GlimpseError.invalidFile(path: path, reason: "has a header row longer than \(Limits.manifestLineBytes) bytes")
            }
            header = reader.headerRow ?? []
            guard header.contains(fields.image) else {
                throw GlimpseError.invalidFile(path: path, reason: "has no \"\(fields.image)\" column (the header has \(header.map { "\"\($0)\"" }.joined(separator: ", ")))")
            }
            if let text = fields.text, fields.requireText, !header.contains(text) {
                throw GlimpseError.invalidFile(path: path, reason: "has no \"\(text)\" column (the header has \(header.map { "\"\($0)\"" }.joined(separator: ", ")))")
            }
            self.stream = stream
            self.reader = reader
            stream.rowStart = stream.consumed
        } catch {
            pending = DatasetFailure(key: path, source: path, reason: "\(error)")
        }
    }

    public func next() -> DatasetItem? {
        if let failure = pending {
            pending = nil
            return .failure(failure)
        }
        guard let reader, let stream else { return nil }
        while true {
            let values = reader.next()
            // A read or decoding error ends the row early: what was parsed of it is not the row.
            // (CSV.swift reports the end of the file as `cannotReadFile`: that one is no error.)
            let endOfFile = stream.streamStatus == .atEnd && { if case .cannotReadFile = reader.error as? CSVError { return true } else { return false } }()
            if (reader.error != nil && !endOfFile) || stream.overLimit {
                self.reader = nil
                self.stream = nil
                row += 1
                let reason = stream.overLimit
                    ? "is longer than the \(Limits.manifestLineBytes) bytes a row may have (an unclosed quote?); the rest of the file is skipped"
                    : "cannot be parsed (not UTF-8 text?); the rest of the file is skipped"
                return fail(row, reason)
            }
            guard let values else {
                self.reader = nil
                self.stream = nil
                return nil
            }
            stream.rowStart = stream.consumed
            row += 1
            if values.allSatisfy({ $0.isEmpty }) { continue }
            return record(row, values)
        }
    }

    private func fail(_ row: Int, _ reason: String) -> DatasetItem {
        .failure(DatasetFailure(key: "\(path):\(row)", source: "\(path) row \(row)", reason: reason))
    }

    private func record(_ row: Int, _ values: [String]) -> DatasetItem {
        guard values.count == header.count else {
            return fail(row, "has \(values.count) fields, the header has \(header.count)")
        }
        var object: [String: String] = [:]
        for (name, value) in zip(header, values) where object[name] == nil { object[name] = value }
        let raw = object[fields.image] ?? ""
        let caption = fields.text.flatMap { object[$0] }
        switch fields.caption(caption) {
        case .failure(let error): return fail(row, error.reason)
        case .success(let caption):
            switch ManifestImage.resolve(raw, folder: folder) {
            case .failure(let error): return fail(row, error.reason)
            case .success(let imagePath):
                let metadata = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
                    .flatMap { String(data: $0, encoding: .utf8) }
                return .success(DatasetRecord(key: "\(path):\(row)", source: "\(path) row \(row)",
                                              image: .file(path: imagePath), text: caption, metadata: metadata))
            }
        }
    }
}
