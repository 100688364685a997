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

    /// Reads a JSON object file.
    public init(contentsOf url: URL, what: String = "config.json") throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw GlimpseError.fileNotFound(path: url.path, what: what)
        }
        guard let data = FileManager.default.contents(atPath: url.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GlimpseError.invalidFile(path: url.path, reason: "not a JSON object")
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

    public func int(_ key: String, default fallback: Int? = nil, min lowest: Int? = nil) throws -> Int {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw GlimpseError.invalidConfig("\(context): missing '\(key)'")
        }
        guard let number = value as? NSNumber, !Self.isBoolean(number),
              let int = Int(exactly: number.doubleValue) else { throw invalid(key, "an integer") }
        if let lowest, int < lowest { throw invalid(key, "at least \(lowest)") }
        return int
    }

    public func optionalInt(_ key: String) throws -> Int? {
        contains(key) ? try int(key) : nil
    }

    public func double(_ key: String, default fallback: Double? = nil) throws -> Double {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw GlimpseError.invalidConfig("\(context): missing '\(key)'")
        }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else { throw invalid(key, "a number") }
        return number.doubleValue
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
