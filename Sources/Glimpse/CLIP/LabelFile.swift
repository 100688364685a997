import Foundation
import GlimpseCore

/// Class names for zero-shot classification, read from the files people already have: one
/// label per line, a JSON array of strings (e.g. ImageNet's class list), or a JSON object
/// of index → label (a config's `id2label`), taken in index order.
public enum LabelFile {
    /// The labels of the UTF-8 file at `path` (at most `Limits.textFileBytes`). A missing file,
    /// a directory or device, another encoding (UTF-16, Latin-1) or a NUL byte is an error saying which.
    public static func read(_ path: String) throws -> [String] {
        let text = try InputFile.text(path, what: "labels file", limit: Limits.textFileBytes)
        let labels: [String]
        switch text.first(where: { !$0.isWhitespace }) {
        case "[", "{": labels = try parseJSON(Data(text.utf8), path: path)
        default:
            labels = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let kept = labels.filter { !$0.isEmpty }
        guard !kept.isEmpty else { throw GlimpseError.invalidFile(path: path, reason: "the label list is empty") }
        return kept
    }

    private static func parseJSON(_ data: Data, path: String) throws -> [String] {
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: data) } catch {
            throw GlimpseError.invalidFile(path: path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        if let array = value as? [Any] {
            return try array.enumerated().map { index, item in
                guard let label = item as? String else {
                    throw GlimpseError.invalidFile(path: path, reason: "entry \(index) is not a string")
                }
                return label
            }
        }
        guard let object = value as? [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "expected a JSON array of labels or an object of index → label")
        }
        let entries = try object.map { key, item -> (Int, String) in
            guard let index = Int(key), let label = item as? String else {
                throw GlimpseError.invalidFile(path: path, reason: "entry \"\(key)\" is not an integer index with a string label")
            }
            return (index, label)
        }
        return entries.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
