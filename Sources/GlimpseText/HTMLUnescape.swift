/// The two HTML unescapers CLIP's cleaning runs: ftfy's cautious one inside `fix_text`, then
/// Python's `html.unescape` twice. Both work on scalar arrays and follow the Python code's
/// matching rules exactly, including entities without ";" that Python accepts ("&amp" → "&",
/// "&copy2" → "©2") and its replacements for invalid numeric references.
enum HTMLUnescape {
    /// Python's `html.unescape`.
    static func python(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("&") else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index] == "&", let (replacement, end) = pythonReference(text, at: index) {
                out.append(contentsOf: replacement)
                index = end
            } else {
                out.append(text[index])
                index += 1
            }
        }
        return out
    }

    /// ftfy's `unescape_html`: only `&#?[0-9A-Za-z]{1,24};`, named ones from the html5 table or
    /// ftfy's all-caps list, numeric ones only when Python decodes them whole.
    static func ftfy(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("&") else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            guard text[index] == "&" else {
                out.append(text[index])
                index += 1
                continue
            }
            var start = index + 1
            let numeric = start < text.count && text[start] == "#"
            if numeric { start += 1 }
            var end = start
            while end < text.count, end - start < 25, isASCIIAlphanumeric(text[end]) { end += 1 }
            guard end > start, end - start <= 24, end < text.count, text[end] == ";" else {
                out.append("&")
                index += 1
                continue
            }
            let match = Array(text[index...end])
            if numeric {
                let decoded = python(match)
                out.append(contentsOf: decoded.contains(";") ? match : decoded)
            } else {
                let name = String(String.UnicodeScalarView(text[(index + 1)...end]))
                out.append(contentsOf: HTMLEntities.html5[name] ?? HTMLEntities.ftfyUppercase[name] ?? match)
            }
            index = end + 1
        }
        return out
    }

    // MARK: Python's character references

    /// One match of Python's `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)` at `index`,
    /// with its replacement and the index after it.
    private static func pythonReference(_ text: [Unicode.Scalar], at index: Int) -> ([Unicode.Scalar], Int)? {
        var cursor = index + 1
        guard cursor < text.count else { return nil }
        if text[cursor] == "#" {
            cursor += 1
            var radix: UInt32 = 10
            if cursor < text.count, text[cursor] == "x" || text[cursor] == "X",
               cursor + 1 < text.count, text[cursor + 1].properties.isASCIIHexDigit {
                radix = 16
                cursor += 1
            }
            var number: UInt32 = 0
            let digitsStart = cursor
            while cursor < text.count, let digit = digitValue(text[cursor], radix: radix) {
                number = number > 0x10FFFF ? number : number * radix + digit  // saturates past the last code point
                cursor += 1
            }
            guard cursor > digitsStart else { return nil }
            if cursor < text.count, text[cursor] == ";" { cursor += 1 }
            return (numericReplacement(number), cursor)
        }
        while cursor < text.count, cursor - index <= 32, !isNameTerminator(text[cursor]) { cursor += 1 }
        guard cursor > index + 1 else { return nil }
        if cursor < text.count, text[cursor] == ";" { cursor += 1 }
        let name = Array(text[(index + 1)..<cursor])
        if let value = HTMLEntities.html5[String(String.UnicodeScalarView(name))] { return (value, cursor) }
        // The longest prefix (of at least two characters) that is a known name, rest kept as is.
        var length = min(name.count - 1, HTMLEntities.longestName)
        while length >= 2 {
            if let value = HTMLEntities.html5[String(String.UnicodeScalarView(name[0..<length]))] {
                return (value + name[length...], cursor)
            }
            length -= 1
        }
        return (["&"] + name, cursor)
    }

    private static func numericReplacement(_ number: UInt32) -> [Unicode.Scalar] {
        if number < 0xA0, let replacement = invalidCharacterReferences[number] { return [replacement] }
        if (0xD800...0xDFFF).contains(number) || number > 0x10FFFF { return ["\u{FFFD}"] }
        if isInvalidCodePoint(number) { return [] }
        return Unicode.Scalar(number).map { [$0] } ?? ["\u{FFFD}"]
    }

    /// `html._invalid_charrefs`: NUL, CR, and the Windows-1252 reading of C1 controls.
    static let invalidCharacterReferences: [UInt32: Unicode.Scalar] = {
        var table: [UInt32: Unicode.Scalar] = [0x00: "\u{FFFD}", 0x0D: "\r"]
        for (offset, scalar) in windows1252C1.enumerated() { table[0x80 + UInt32(offset)] = scalar }
        return table
    }()

    /// Windows-1252 bytes 0x80–0x9F; the five undefined ones stay themselves (the "sloppy" codec).
    static let windows1252C1: [Unicode.Scalar] = [
        "\u{20AC}", "\u{81}", "\u{201A}", "\u{192}", "\u{201E}", "\u{2026}", "\u{2020}", "\u{2021}",
        "\u{2C6}", "\u{2030}", "\u{160}", "\u{2039}", "\u{152}", "\u{8D}", "\u{17D}", "\u{8F}",
        "\u{90}", "\u{2018}", "\u{2019}", "\u{201C}", "\u{201D}", "\u{2022}", "\u{2013}", "\u{2014}",
        "\u{2DC}", "\u{2122}", "\u{161}", "\u{203A}", "\u{153}", "\u{9D}", "\u{17E}", "\u{178}",
    ]

    /// `html._invalid_codepoints`: references to these decode to nothing.
    private static func isInvalidCodePoint(_ value: UInt32) -> Bool {
        switch value {
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F...0x9F, 0xFDD0...0xFDEF: return true
        default: return value & 0xFFFE == 0xFFFE && value <= 0x10FFFF
        }
    }

    private static func isNameTerminator(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": return true
        default: return false
        }
    }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }

    private static func digitValue(_ scalar: Unicode.Scalar, radix: UInt32) -> UInt32? {
        let value = scalar.value
        switch value {
        case 0x30...0x39: return value - 0x30
        case 0x41...0x46 where radix == 16: return value - 0x41 + 10
        case 0x61...0x66 where radix == 16: return value - 0x61 + 10
        default: return nil
        }
    }
}
