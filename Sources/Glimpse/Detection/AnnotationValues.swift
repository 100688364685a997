import Foundation
import GlimpseCore

/// Typed reading of the values in ground-truth and detections files, so that a box that is
/// inverted or not finite, a score outside [0, 1], or a `true` where a number belongs is an
/// error naming the file and record instead of being scored as if it were right.
enum AnnotationValues {
    /// Where a value came from, for messages: the file and "record 3 object 2", "line 7".
    struct Context {
        var path: String
        var location: String
        func appending(_ more: String) -> Context { Context(path: path, location: location + " " + more) }
    }

    static func bad(_ context: Context, _ reason: String) -> GlimpseError {
        .invalidFile(path: context.path, reason: "\(context.location): \(reason)")
    }

    /// A JSON number that is not a boolean (Foundation bridges true/false to 1/0).
    static func number(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        return number.doubleValue
    }

    /// A non-empty string.
    static func name(_ value: Any?, key: String, _ context: Context) throws -> String {
        guard let string = value as? String else { throw bad(context, "\"\(key)\" must be a string") }
        guard !string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw bad(context, "\"\(key)\" is empty") }
        return string
    }

    /// `[x1, y1, x2, y2]` in pixels: four finite numbers with x1 ≤ x2 and y1 ≤ y2 (an empty
    /// box is allowed; an inverted one, a negative size, is not).
    static func box(_ value: Any?, key: String, _ context: Context) throws -> BoundingBox {
        guard let list = value as? [Any], list.count == 4 else {
            throw bad(context, "\"\(key)\" must be [x1, y1, x2, y2]")
        }
        let numbers = list.compactMap(number)
        guard numbers.count == 4 else { throw bad(context, "\"\(key)\" must hold four numbers, found \(list)") }
        guard numbers.allSatisfy({ $0.isFinite && abs($0) <= Double(Float.greatestFiniteMagnitude) }) else {
            throw bad(context, "\"\(key)\" has a coordinate that is not a finite number: \(numbers)")
        }
        let box = BoundingBox(x1: Float(numbers[0]), y1: Float(numbers[1]), x2: Float(numbers[2]), y2: Float(numbers[3]))
        guard box.x2 >= box.x1, box.y2 >= box.y1 else {
            throw bad(context, "\"\(key)\" \(numbers) is inverted (x2 < x1 or y2 < y1): corners must be [x1, y1, x2, y2] with x1 ≤ x2, y1 ≤ y2")
        }
        return box
    }

    /// A detection score: a number in [0, 1] (NaN is not).
    static func score(_ value: Any?, _ context: Context) throws -> Float {
        guard let score = number(value) else { throw bad(context, "\"score\" must be a number, found \(value.map { "\($0)" } ?? "nothing")") }
        guard score >= 0, score <= 1 else { throw bad(context, "\"score\" \(score) is outside [0, 1]") }
        return Float(score)
    }

    /// An optional image size: absent, or a whole number of pixels above 0.
    static func size(_ value: Any?, key: String, _ context: Context) throws -> Int? {
        guard let value, !(value is NSNull) else { return nil }
        guard let size = number(value), size.rounded() == size, size >= 1, size <= Double(Int32.max) else {
            throw bad(context, "\"\(key)\" must be a whole number of pixels above 0, found \(value)")
        }
        return Int(size)
    }
}
