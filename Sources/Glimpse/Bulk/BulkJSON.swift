import Foundation

/// The JSON values Glimpse writes (the CLI's JSON Lines, bulk outputs' errors, metadata,
/// journal and streamed lines), with keys in the given order and floats in their shortest
/// round-trip form, so an embedding printed here parses back to the very same `Float`s.
public indirect enum BulkJSON: Sendable {
    case string(String), int(Int), float(Float), double(Double), bool(Bool), null
    case floats([Float])
    case array([BulkJSON])
    case object([(String, BulkJSON)])
    /// Text that is already one JSON value (an input's metadata object), copied as it is.
    case raw(String)

    /// The value as compact JSON text (one line: never a raw newline).
    public var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    public func write(into out: inout String) {
        switch self {
        case .string(let s): Self.quote(s, into: &out)
        case .int(let i): out += String(i)
        case .float(let f): out += f.isFinite ? "\(f)" : "null"
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .floats(let values):
            out += "["
            for (i, v) in values.enumerated() { if i > 0 { out += "," }; out += v.isFinite ? "\(v)" : "null" }
            out += "]"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() { if i > 0 { out += "," }; item.write(into: &out) }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out); out += ":"; value.write(into: &out)
            }
            out += "}"
        case .raw(let text):
            // JSON allows newlines only as whitespace between tokens, so turning them into
            // spaces keeps a valid value valid and makes it fit on one line.
            out += text.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
                ? String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 }) : text
        }
    }

    public static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
