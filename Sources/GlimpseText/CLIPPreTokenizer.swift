/// Splits cleaned, lower-cased text into words the way CLIP's pattern does under `regex.findall`:
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// with IGNORECASE. A hand-written scanner: at each position the alternatives are tried in
/// order, and a position where none matches (white space, U+0345) is skipped.
enum CLIPPreTokenizer {
    static func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var index = 0
        let count = text.count
        while index < count {
            let scalar = text[index]
            var end = index
            if scalar == "<", let length = specialTokenLength(text, at: index) {
                end = index + length
            } else if scalar == "'", let length = contractionLength(text, at: index) {
                end = index + length
            } else {
                switch CLIPCharacterClass.of(scalar) {
                case .letter:
                    end = index + 1
                    while end < count, CLIPCharacterClass.of(text[end]) == .letter { end += 1 }
                case .number:
                    end = index + 1
                case .other:
                    end = index + 1
                    while end < count, CLIPCharacterClass.of(text[end]) == .other { end += 1 }
                case .space, .unmatched:
                    index += 1
                    continue
                }
            }
            words.append(text[index..<end])
            index = end
        }
        return words
    }

    private static let specials: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    private static func specialTokenLength(_ text: [Unicode.Scalar], at index: Int) -> Int? {
        specials.first { matches($0, text, at: index) }?.count
    }

    private static func contractionLength(_ text: [Unicode.Scalar], at index: Int) -> Int? {
        contractions.first { matches($0, text, at: index) }?.count
    }

    /// Case-insensitive literal match. The text is already lower-cased, so the only other
    /// spelling IGNORECASE admits for these letters is U+017F ſ for "s" (checked with `regex`).
    private static func matches(_ pattern: [Unicode.Scalar], _ text: [Unicode.Scalar], at index: Int) -> Bool {
        guard index + pattern.count <= text.count else { return false }
        for (offset, expected) in pattern.enumerated() {
            let actual = text[index + offset]
            if actual == expected || (expected == "s" && actual == "\u{17F}") || (actual.value < 0x80 && actual.value ^ 0x20 == expected.value && expected.properties.isAlphabetic) {
                continue
            }
            return false
        }
        return true
    }
}
