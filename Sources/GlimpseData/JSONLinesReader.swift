import Foundation
import GlimpseBase

/// A JSON Lines manifest, one object a line (`{"image": PATH, "text": TEXT}` by default),
/// read line by line. Blank lines are skipped; a line that is not such an object becomes a
/// failure keyed `FILE:LINE`, and reading goes on with the next line.
public final class JSONLinesReader: IteratorProtocol, Sequence {
    public let path: String
    public let fields: DatasetFields
    private let folder: String
    private var lines: LineReader?
    private var openFailure: DatasetFailure?

    /// Never throws: a manifest that cannot be opened is one failure.
    public init(path: String, fields: DatasetFields = DatasetFields()) {
        self.path = path
        self.fields = fields
        self.folder = ManifestImage.folder(of: path)
        do {
            lines = try LineReader(path: path, what: "JSON Lines manifest", limit: Limits.manifestLineBytes)
        } catch {
            openFailure = DatasetFailure(key: path, source: path, reason: "\(error)")
        }
    }

    /// JSON Lines read from an open descriptor as they come (standard input for streaming
    /// workers: `--stdin`), named `name` in keys (`NAME:LINE`); relative image paths are
    /// relative to the current folder.
    public init(fileDescriptor: Int32, name: String = "stdin", fields: DatasetFields = DatasetFields()) {
        self.path = name
        self.fields = fields
        self.folder = "."
        do {
            lines = try LineReader(fileDescriptor: fileDescriptor, limit: Limits.manifestLineBytes)
        } catch {
            openFailure = DatasetFailure(key: name, source: name, reason: "\(error)")
        }
    }

    public func next() -> DatasetItem? {
        if let failure = openFailure {
            openFailure = nil
            return .failure(failure)
        }
        while let line = lines?.next() {
            switch line {
            case .tooLong(let number):
                return fail(number, "is longer than the \(Limits.manifestLineBytes) bytes a manifest line may have")
            case .readError(let number, let reason):
                lines = nil
                return fail(number, reason)
            case .text(let number, let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                return record(number, bytes)
            }
        }
        lines = nil
        return nil
    }

    private func fail(_ line: Int, _ reason: String) -> DatasetItem {
        .failure(DatasetFailure(key: "\(path):\(line)", source: "\(path) line \(line)", reason: reason))
    }

    private func record(_ number: Int, _ bytes: [UInt8]) -> DatasetItem {
        guard let text = String(validating: bytes, as: UTF8.self) else { return fail(number, "is not UTF-8 text") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            return fail(number, "is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            return fail(number, "is a JSON \(JSONValue.kind(of: object)), expected an object")
        }
        switch JSONValue.string(dictionary, fields.image, what: "image path") {
        case .failure(let error): return fail(number, error.reason)
        case .success(nil): return fail(number, "has no \"\(fields.image)\" field")
        case .success(let raw?):
            var caption: String?
            if let field = fields.text {
                switch JSONValue.string(dictionary, field, what: "text") {
                case .failure(let error): return fail(number, error.reason)
                case .success(let value): caption = value
                }
            }
            switch fields.caption(caption) {
            case .failure(let error): return fail(number, error.reason)
            case .success(let caption):
                switch ManifestImage.resolve(raw, folder: folder) {
                case .failure(let error): return fail(number, error.reason)
                case .success(let imagePath):
                    return .success(DatasetRecord(key: "\(path):\(number)", source: "\(path) line \(number)",
                                                  image: .file(path: imagePath), text: caption, metadata: text))
                }
            }
        }
    }
}

/// Reading typed fields out of parsed JSON, with reasons that say what was found instead.
enum JSONValue {
    /// The string at `key`; `nil` when absent or null; a failure when of another type.
    static func string(_ object: [String: Any], _ key: String, what: String) -> Result<String?, ReasonOnly> {
        guard let value = object[key], !(value is NSNull) else { return .success(nil) }
        guard let string = value as? String else {
            return .failure(ReasonOnly("has a \(kind(of: value)) as \"\(key)\" (the \(what)), expected a string"))
        }
        return .success(string)
    }

    /// "object", "array", "string", "number", "boolean" or "null", for messages.
    static func kind(of value: Any) -> String {
        switch value {
        case is [String: Any]: return "object"
        case is [Any]: return "array"
        case is String: return "string"
        case is NSNull: return "null"
        case let number as NSNumber:
            return ConfigReader.isBoolean(number) ? "boolean" : "number"
        default: return "value"
        }
    }
}
