import Foundation

/// Typed access to a Hugging Face `config.json` (or a section of it).
///
/// Absent keys take the reference implementation's defaults, as `transformers` does, so
/// the trimmed configs of older checkpoints load; present keys of the wrong type or out of
/// range are errors that name the key path and file.
public struct ConfigReader: @unchecked Sendable {
    public let values: [String: Any]
    /// "config.json" or "config.json › vision_config", used in messages.
    public let context: String

    public init(values: [String: Any], context: String) {
        self.values = values
        self.context = context
    }

    /// Reads a JSON object file: a regular file of at most `Limits.configFileBytes`.
    public init(contentsOf url: URL, what: String = "config.json") throws {
        let data = try InputFile.read(url.path, what: what, limit: Limits.configFileBytes)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GlimpseError.invalidFile(path: url.path, reason: "not a JSON object; a \(what) must be one")
        }
        self.init(values: object, context: url.path)
    }

    /// Checks `model_type`, when the file has one: a folder of another kind of model is a clear
    /// error (a BLIP folder given to a CLIP command says so), not a missing-tensor puzzle.
    public func requireModelType(_ expected: String, _ description: String) throws {
        guard contains("model_type") else { return }
        let type = try string("model_type")
        guard type == expected else {
            throw GlimpseError.invalidConfig("\(context): model_type is '\(type)', not \(description) (\(expected))")
        }
    }

    public func contains(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    private func raw(_ key: String) -> Any? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        return value
    }

    private func invalid(_ key: String, _ expectation: String) -> GlimpseError {
        .invalidConfig("\(context): '\(key)' must be \(expectation), found \(String(describing: values[key] ?? "nothing"))")
    }

    /// The nested object `key`, or nil when absent.
    public func section(_ key: String) throws -> ConfigReader? {
        guard let value = raw(key) else { return nil }
        guard let object = value as? [String: Any] else { throw invalid(key, "an object") }
        return ConfigReader(values: object, context: "\(context) › \(key)")
    }

    /// An integer in `lowest...highest` (either bound optional). A whole number written as a
    /// float (768.0) is accepted, as Python accepts it; 1.5, "3", true and numbers beyond
    /// 64 bits are not.
    public func int(_ key: String, default fallback: Int? = nil, min lowest: Int? = nil, max highest: Int? = nil) throws -> Int {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw GlimpseError.invalidConfig("\(context): missing '\(key)'")
        }
        let int: Int
        switch JSONInteger(value) {
        case .integer(let exact): int = exact
        case .tooLarge: throw invalid(key, "an integer of at most \(highest ?? Int.max)")
        case .notInteger:
            guard let number = value as? NSNumber, !Self.isBoolean(number),
                  let whole = Int(exactly: number.doubleValue) else { throw invalid(key, "an integer") }
            int = whole
        }
        if let lowest, int < lowest { throw invalid(key, "at least \(lowest)") }
        if let highest, int > highest { throw invalid(key, "at most \(highest)") }
        return int
    }

    public func optionalInt(_ key: String) throws -> Int? {
        contains(key) ? try int(key) : nil
    }

    /// A width, length, size or count of a model: 1 through `Limits.configDimension`.
    public func dimension(_ key: String, default fallback: Int? = nil) throws -> Int {
        try int(key, default: fallback, min: 1, max: Limits.configDimension)
    }

    /// A number of layers or blocks: 0 through `Limits.configDimension`.
    public func count(_ key: String, default fallback: Int? = nil) throws -> Int {
        try int(key, default: fallback, min: 0, max: Limits.configDimension)
    }

    public func double(_ key: String, default fallback: Double? = nil) throws -> Double {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw GlimpseError.invalidConfig("\(context): missing '\(key)'")
        }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else { throw invalid(key, "a number") }
        return number.doubleValue
    }

    /// A finite number greater than zero (an epsilon, a ratio), also as a Float.
    public func positive(_ key: String, default fallback: Double? = nil) throws -> Double {
        let number = try double(key, default: fallback)
        guard number.isFinite, number > 0, Float(number).isFinite, Float(number) > 0 else {
            throw invalid(key, "a finite number greater than 0")
        }
        return number
    }

    public func string(_ key: String, default fallback: String? = nil) throws -> String {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw GlimpseError.invalidConfig("\(context): missing '\(key)'")
        }
        guard let string = value as? String else { throw invalid(key, "a string") }
        return string
    }

    /// JSON true/false. (`is Bool` is no test: Foundation bridges the numbers 0 and 1 to Bool too.)
    public static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = raw(key) else { return fallback }
        guard let number = value as? NSNumber, Self.isBoolean(number) else { throw invalid(key, "true or false") }
        let bool = number.boolValue
        return bool
    }
}

/// A JSON value read as an integer the way a strict parser (serde's `usize`, Python's `int`)
/// reads it: only integer literals count — 1.5, 1e3, "3" and true do not — and one beyond
/// `Int.max` is too large rather than wrapped.
public enum JSONInteger: Equatable, Sendable {
    case integer(Int)
    case tooLarge
    case notInteger

    public init(_ value: Any) {
        guard let number = value as? NSNumber, !(value is NSDecimalNumber) else { self = .notInteger; return }
        switch String(cString: number.objCType) {
        case "Q", "L":  // unsigned 64-bit: Foundation's type for literals above Int64.max
            let unsigned = number.uint64Value
            self = unsigned <= UInt64(Int.max) ? .integer(Int(unsigned)) : .tooLarge
        case "q", "l", "i", "s", "I", "S", "C":
            self = .integer(Int(number.int64Value))
        default:  // "d"/"f": a float literal; "c": true/false
            self = .notInteger
        }
    }
}
