import Foundation
import GlimpseCore

/// The labelled objects of one image, in the simple JSON format of the test assets:
/// `{"image": "voc_dining.jpg", "width": 500, "height": 375,
///   "objects": [{"label": "chair", "box_xyxy": [x1, y1, x2, y2]}, ...]}` (pixels).
/// A file may hold one such object or a list of them.
public struct GroundTruthImage: Sendable, Equatable {
    public struct Object: Sendable, Equatable {
        public var label: String
        public var box: BoundingBox
        public init(label: String, box: BoundingBox) { (self.label, self.box) = (label, box) }
    }

    public var image: String
    public var width: Int?
    public var height: Int?
    public var objects: [Object]

    public init(image: String, width: Int? = nil, height: Int? = nil, objects: [Object]) {
        (self.image, self.width, self.height, self.objects) = (image, width, height, objects)
    }

    /// Reads every image record in a ground-truth JSON file (a regular UTF-8 file of at most
    /// `Limits.annotationFileBytes`). An empty file or list, a record without an image name,
    /// an object without a label, and a box that is inverted or not finite are errors naming
    /// the file and record.
    public static func load(contentsOf url: URL) throws -> [GroundTruthImage] {
        let path = url.path
        let text = try InputFile.text(path, what: "ground-truth file", limit: Limits.annotationFileBytes)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw GlimpseError.invalidFile(path: path, reason: "is empty; a ground-truth file holds an image record or a list of them")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(text.utf8)) } catch {
            throw GlimpseError.invalidFile(path: path, reason: "is not valid JSON")
        }
        let records: [Any] = (json as? [Any]) ?? [json]
        guard !records.isEmpty else { throw GlimpseError.invalidFile(path: path, reason: "holds an empty list: no image records") }
        return try records.enumerated().map {
            try parse($1, context: AnnotationValues.Context(path: path, location: "record \($0 + 1)"))
        }
    }

    /// Every record of several ground-truth files. Detections are matched to images by file
    /// name, so one name in two records is an error (its detections would count twice), as is
    /// a set of files without a single object (there would be nothing to score).
    public static func load(files: [String]) throws -> [GroundTruthImage] {
        var all: [GroundTruthImage] = []
        var seen: [String: String] = [:]
        for path in files {
            for (i, record) in try load(contentsOf: URL(fileURLWithPath: path)).enumerated() {
                let name = URL(fileURLWithPath: record.image).lastPathComponent
                let here = "\(path) record \(i + 1)"
                if let first = seen[name] {
                    throw GlimpseError.invalidFile(path: path, reason: "record \(i + 1): image \(name) is also in \(first); each image takes one record")
                }
                seen[name] = here
                all.append(record)
            }
        }
        guard all.contains(where: { !$0.objects.isEmpty }) else {
            throw GlimpseError.invalidArgument("the ground truth (\(files.joined(separator: ", "))) holds no objects: nothing to score")
        }
        return all
    }

    static func parse(_ value: Any, context: AnnotationValues.Context) throws -> GroundTruthImage {
        guard let record = value as? [String: Any], record["image"] != nil else {
            throw AnnotationValues.bad(context, "expected an object with \"image\" and \"objects\"")
        }
        let image = try AnnotationValues.name(record["image"], key: "image", context)
        guard let objects = record["objects"] as? [Any] else {
            throw AnnotationValues.bad(context, "\"objects\" must be a list of {\"label\", \"box_xyxy\"}")
        }
        return GroundTruthImage(
            image: image,
            width: try AnnotationValues.size(record["width"], key: "width", context),
            height: try AnnotationValues.size(record["height"], key: "height", context),
            objects: try objects.enumerated().map { i, item in
                let where_ = context.appending("object \(i + 1)")
                guard let object = item as? [String: Any], object["label"] != nil, object["box_xyxy"] != nil else {
                    throw AnnotationValues.bad(where_, "needs \"label\" and \"box_xyxy\": [x1, y1, x2, y2]")
                }
                return Object(label: try AnnotationValues.name(object["label"], key: "label", where_),
                              box: try AnnotationValues.box(object["box_xyxy"], key: "box_xyxy", where_))
            })
    }
}
