/// How CLIP's split pattern sees one code point. Looked up from a table generated with the
/// `regex` module itself (CLIPCharacterTable.swift), so the split does not depend on which
/// Unicode version the Swift standard library was built with.
enum CLIPCharacterClass: UInt8 {
    /// `[\p{L}]` (under IGNORECASE).
    case letter
    /// `[\p{N}]`.
    case number
    /// `\s`: never part of a token.
    case space
    /// `[^\s\p{L}\p{N}]`: punctuation, symbols, marks, emoji.
    case other
    /// Matched by none of the alternatives (U+0345), so skipped like white space.
    case unmatched

    static func of(_ scalar: Unicode.Scalar) -> CLIPCharacterClass {
        let value = scalar.value
        if value < 0x80 { return ascii[Int(value)] }
        // Binary search for the last range starting at or before `value`.
        var low = 0, high = starts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if starts[mid] <= value { low = mid } else { high = mid - 1 }
        }
        return classes[low]
    }

    private static let table: (starts: [UInt32], classes: [CLIPCharacterClass]) = {
        var starts: [UInt32] = [], classes: [CLIPCharacterClass] = []
        for record in clipCharacterClassData.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let code = record.last, let start = UInt32(record.dropLast(), radix: 16) else { continue }
            let kind: CLIPCharacterClass
            switch code {
            case "L": kind = .letter
            case "N": kind = .number
            case "S": kind = .space
            case "X": kind = .unmatched
            default: kind = .other
            }
            starts.append(start)
            classes.append(kind)
        }
        if starts.first != 0 {  // cannot happen with the generated table; keeps lookups total
            starts.insert(0, at: 0)
            classes.insert(.other, at: 0)
        }
        return (starts, classes)
    }()
    private static let starts = table.starts
    private static let classes = table.classes
    private static let ascii: [CLIPCharacterClass] = (0..<128).map { value in
        var low = 0
        while low + 1 < starts.count, starts[low + 1] <= UInt32(value) { low += 1 }
        return classes[low]
    }
}
