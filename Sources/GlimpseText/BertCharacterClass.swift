/// The character classes of Hugging Face's BERT normalizer and pre-tokenizer. Category
/// membership comes from the tables `tokenizers` itself uses (BertUnicodeTable.swift, an older
/// Unicode version than Swift's), so a character Unicode added or re-classified later is
/// treated as the reference treats it. Whitespace is Unicode's White_Space property, which is
/// the same in Rust and Swift.
enum BertCharacter {
    /// Dropped by `clean_text`: NUL, U+FFFD and control/format/private-use characters, except
    /// tab, LF and CR, which count as whitespace.
    static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value >= 0x20 && value < 0x7F { return false }
        return isMember(value, removed)
    }

    /// Rust's `char::is_whitespace` (White_Space), which BERT's cleaning and splitting use.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 { return value == 0x20 || (value >= 0x09 && value <= 0x0D) }
        return scalar.properties.isWhitespace
    }

    /// ASCII punctuation (including symbols such as `$ + < = > ^ ` | ~`) or category P*.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x80 {
            return (value >= 33 && value <= 47) || (value >= 58 && value <= 64) || (value >= 91 && value <= 96)
                || (value >= 123 && value <= 126)
        }
        return isMember(value, punctuation)
    }

    /// Category Mn: what accent stripping drops after NFD.
    static func isNonspacingMark(_ scalar: Unicode.Scalar) -> Bool { isMember(scalar.value, nonspacing) }

    /// Whether NFD followed by Mn removal changes this character at all.
    static func changesWhenStripped(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x80 && isMember(scalar.value, decomposing)
    }

    /// The CJK ideograph blocks of `tokenizers`' `is_chinese_char`. It leaves out
    /// U+2B820–U+2B91F, which the older Python `_is_chinese_char` includes.
    static func isChinese(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Regex `\w` as Rust's `regex` crate defines it, for added tokens marked `single_word`.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return properties.isAlphabetic || properties.isJoinControl
        }
    }

    private static let removed = toggles(bertRemovedToggleData)
    private static let punctuation = toggles(bertPunctuationToggleData)
    private static let nonspacing = toggles(bertNonspacingToggleData)
    private static let decomposing = toggles(bertDecomposingToggleData)

    private static func toggles(_ data: String) -> [UInt32] {
        data.split(whereSeparator: \.isWhitespace).compactMap { UInt32($0, radix: 16) }
    }

    /// Inside when an odd number of toggles lie at or below the value.
    private static func isMember(_ value: UInt32, _ toggles: [UInt32]) -> Bool {
        var low = 0, high = toggles.count
        while low < high {
            let mid = (low + high) / 2
            if toggles[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low % 2 == 1
    }
}
