import Foundation

/// The part of ftfy 6's `fix_text` (default settings) that CLIP's tokenizer depends on.
///
/// Covered, in ftfy's order and repeated until the text stops changing, per line segment:
/// `unescape_html` (off from the first line containing "<" on, as ftfy's "auto" does),
/// `fix_c1_controls`, `fix_latin_ligatures`, `fix_character_width`, `uncurl_quotes`,
/// `fix_line_breaks`, `remove_terminal_escapes`, `remove_control_chars`, NFC.
///
/// Not covered: `fix_encoding` (mojibake repair such as "cafÃ©" → "café", with
/// `restore_byte_a0`, `replace_lossy_sequences`, `decode_inconsistent_utf8`). It needs ftfy's
/// statistical "badness" heuristics and codec tables; such text is left as it is.
/// `fix_surrogates` has nothing to do: a Swift string cannot hold lone surrogates.
enum TextFixer {
    static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if text.allSatisfy(isInert) { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var unescape = true
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count, text[end] != "\n" { end += 1 }
            end = min(end + 1, text.count)  // a segment keeps its "\n"
            var segment = Array(text[start..<end])
            if unescape, segment.contains("<") { unescape = false }  // stays off, as in ftfy
            while true {
                let fixed = fixOnce(segment, unescape: unescape)
                if fixed == segment { break }
                segment = fixed
            }
            out += segment
            start = end
        }
        return out
    }

    /// Characters no fixer touches, for the common all-ASCII fast path.
    @inline(__always) static func isInert(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value >= 0x20 && value < 0x7F && value != 0x26) || value == 0x0A || value == 0x09
    }

    private static func fixOnce(_ input: [Unicode.Scalar], unescape: Bool) -> [Unicode.Scalar] {
        var text = unescape ? HTMLUnescape.ftfy(input) : input
        text = mapScalars(text) { scalar in
            let value = scalar.value
            if value >= 0x80 && value <= 0x9F { return [HTMLUnescape.windows1252C1[Int(value - 0x80)]] }
            return ligatures[value]
        }
        text = mapScalars(text) { widthMap[$0.value] }
        text = mapScalars(text) { scalar in
            switch scalar.value {
            case 0x2BC, 0x2018...0x201B: return ["'"]
            case 0x201C...0x201F: return ["\""]
            default: return nil
            }
        }
        text = fixLineBreaks(text)
        text = removeTerminalEscapes(text)
        text.removeAll(where: isRemovedControl)
        return nfc(text)
    }

    private static func mapScalars(_ text: [Unicode.Scalar], _ transform: (Unicode.Scalar) -> [Unicode.Scalar]?) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for scalar in text {
            if let replacement = transform(scalar) { out += replacement } else { out.append(scalar) }
        }
        return out
    }

    /// ftfy's LIGATURES: Latin typographic ligatures and legacy digraphs, not æ/œ.
    private static let ligatures: [UInt32: [Unicode.Scalar]] = [
        0x132: ["I", "J"], 0x133: ["i", "j"], 0x149: ["\u{2BC}", "n"],
        0x1C4: ["D", "\u{17D}"], 0x1C5: ["D", "\u{17E}"], 0x1C6: ["d", "\u{17E}"],
        0x1C7: ["L", "J"], 0x1C8: ["L", "j"], 0x1C9: ["l", "j"],
        0x1CA: ["N", "J"], 0x1CB: ["N", "j"], 0x1CC: ["n", "j"],
        0x1F1: ["D", "Z"], 0x1F2: ["D", "z"], 0x1F3: ["d", "z"],
        0xFB00: ["f", "f"], 0xFB01: ["f", "i"], 0xFB02: ["f", "l"], 0xFB03: ["f", "f", "i"],
        0xFB04: ["f", "f", "l"], 0xFB05: ["\u{17F}", "t"], 0xFB06: ["s", "t"],
    ]

    /// ftfy's WIDTH_MAP: U+3000 → space, and NFKC of every changed character in U+FF01–U+FFEF.
    private static let widthMap: [UInt32: [Unicode.Scalar]] = {
        var map: [UInt32: [Unicode.Scalar]] = [0x3000: [" "]]
        for value in UInt32(0xFF01)..<0xFFF0 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let normalized = Array(String(Character(scalar)).precomposedStringWithCompatibilityMapping.unicodeScalars)
            if normalized != [scalar] { map[value] = normalized }
        }
        return map
    }()

    /// CRLF, CR, U+2028, U+2029 and U+0085 all become "\n".
    private static func fixLineBreaks(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            switch text[index].value {
            case 0x0D:
                out.append("\n")
                if index + 1 < text.count, text[index + 1] == "\n" { index += 1 }
            case 0x2028, 0x2029, 0x85:
                out.append("\n")
            default:
                out.append(text[index])
            }
            index += 1
        }
        return out
    }

    /// Drops ANSI escapes `ESC [ (digit|;)* letter`; digits are any Unicode Nd, as Python's `\d`.
    private static func removeTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("\u{1B}") else { return text }
        var out: [Unicode.Scalar] = []
        var index = 0
        while index < text.count {
            if text[index] == "\u{1B}", index + 1 < text.count, text[index + 1] == "[" {
                var end = index + 2
                while end < text.count, text[end] == ";" || PythonUnicode.isDecimalDigit(text[end]) { end += 1 }
                if end < text.count, text[end].isASCII, text[end].properties.isAlphabetic {
                    index = end + 1
                    continue
                }
            }
            out.append(text[index])
            index += 1
        }
        return out
    }

    /// ftfy's CONTROL_CHARS: C0 controls other than tab/LF/FF/CR, DEL, deprecated Arabic
    /// format controls, BOM, interlinear annotations and U+FFFC. C1 controls are kept.
    private static func isRemovedControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    /// NFC, by the standard library's normaliser. Not Foundation's
    /// `precomposedStringWithCanonicalMapping`: on Linux it turns U+3039F U+0301 into U+038C
    /// (drops the plane of a supplementary character before a combining mark), found by fuzzing.
    /// Text below U+0300 is already NFC, which skips the work for most input.
    static func nfc(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0x300 }) else { return text }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: text)
        return Array(String(decoding: String(string)._nfcCodeUnits, as: UTF8.self).unicodeScalars)
    }
}
