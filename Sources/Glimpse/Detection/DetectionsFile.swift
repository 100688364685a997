import Foundation
import GlimpseCore

/// The JSON Lines `glimpse detect` writes, read back for evaluation: per line an image and
/// its detections. Read with the same checks as ground truth (regular UTF-8 file within
/// `Limits.annotationFileBytes`); a line that is not such a record, a score outside [0, 1],
/// a box that is inverted or not finite, and an image listed twice are errors naming the
/// file and line, never scored silently.
public enum DetectionsFile {
    public struct Entry: Sendable, Equatable {
        /// The image's file name (its path's last component), as ground truth names it.
        public var name: String
        public var detections: [Detection]
    }

    public static func load(_ path: String) throws -> [Entry] {
        let text = try InputFile.text(path, what: "detections file", limit: Limits.annotationFileBytes)
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let context = AnnotationValues.Context(path: path, location: "line \(n + 1)")
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  record["image"] != nil, let list = record["detections"] as? [Any] else {
                throw AnnotationValues.bad(context, "not a `glimpse detect` record with \"image\" and \"detections\"")
            }
            let image = try AnnotationValues.name(record["image"], key: "image", context)
            let name = URL(fileURLWithPath: image).lastPathComponent
            if let first = seen[name] {
                throw AnnotationValues.bad(context, "image \(name) was already listed on line \(first); each image takes one line")
            }
            seen[name] = n + 1
            let detections = try list.enumerated().map { i, item -> Detection in
                let where_ = context.appending("detection \(i + 1)")
                guard let d = item as? [String: Any], d["label"] != nil, d["score"] != nil, d["box"] != nil else {
                    throw AnnotationValues.bad(where_, "a detection needs \"label\", \"score\" and \"box\": [x1, y1, x2, y2]")
                }
                return Detection(label: try AnnotationValues.name(d["label"], key: "label", where_), query: 0,
                                 score: try AnnotationValues.score(d["score"], where_),
                                 box: try AnnotationValues.box(d["box"], key: "box", where_), patch: 0)
            }
            entries.append(Entry(name: name, detections: detections))
        }
        guard !entries.isEmpty else {
            throw GlimpseError.invalidFile(path: path, reason: "holds no detection records (`glimpse detect` writes one line per image)")
        }
        return entries
    }
}
