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

    /// Reads every image record in a ground-truth JSON file.
    public static func load(contentsOf url: URL) throws -> [GroundTruthImage] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw GlimpseError.fileNotFound(path: url.path, what: "ground-truth file")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) else {
            throw GlimpseError.invalidFile(path: url.path, reason: "is not valid JSON")
        }
        let records: [Any] = (json as? [Any]) ?? [json]
        return try records.enumerated().map { try parse($1, context: "\(url.path) record \($0 + 1)") }
    }

    static func parse(_ value: Any, context: String) throws -> GroundTruthImage {
        guard let record = value as? [String: Any], let image = record["image"] as? String else {
            throw GlimpseError.invalidArgument("\(context): expected an object with \"image\" and \"objects\"")
        }
        guard let objects = record["objects"] as? [[String: Any]] else {
            throw GlimpseError.invalidArgument("\(context): \"objects\" must be a list of {\"label\", \"box_xyxy\"}")
        }
        return GroundTruthImage(
            image: image, width: record["width"] as? Int, height: record["height"] as? Int,
            objects: try objects.enumerated().map { i, object in
                guard let label = object["label"] as? String,
                      let box = (object["box_xyxy"] as? [NSNumber])?.map(\.floatValue), box.count == 4 else {
                    throw GlimpseError.invalidArgument("\(context) object \(i + 1): needs \"label\" and \"box_xyxy\": [x1, y1, x2, y2]")
                }
                return Object(label: label, box: BoundingBox(x1: box[0], y1: box[1], x2: box[2], y2: box[3]))
            })
    }
}
