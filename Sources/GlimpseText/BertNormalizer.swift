import Foundation

/// BERT's text normalization as Hugging Face's `BertNormalizer` runs it, in its order:
/// clean (drop control characters, whitespace → " "), space out CJK ideographs, strip accents
/// (NFD, drop Mn), lower-case. Works on scalars, never on `String` comparison, so canonically
/// equivalent spellings stay distinct exactly as in the reference.
struct BertNormalizer: Sendable {
    var cleanText = true
    var handleChineseCharacters = true
    var stripAccents = true
    var lowercase = true

    func normalize<S: Collection>(_ input: S) -> [Unicode.Scalar] where S.Element == Unicode.Scalar {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(input.count + 8)
        var allASCII = true
        for scalar in input {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || BertCharacter.isRemoved(scalar) { continue }
                if BertCharacter.isWhitespace(scalar) { out.append(" "); continue }
            }
            if scalar.value >= 0x80 { allASCII = false }
            if handleChineseCharacters && BertCharacter.isChinese(scalar) {
                out += [" ", scalar, " "]
            } else {
                out.append(scalar)
            }
        }
        if stripAccents && !allASCII { out = Self.stripAccents(out) }
        if lowercase { out = Self.lowercase(out) }
        return out
    }

    /// NFD, then removal of nonspacing marks.
    static func stripAccents(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var decomposed: [Unicode.Scalar] = []
        decomposed.reserveCapacity(scalars.count)
        for scalar in scalars {
            if BertCharacter.changesWhenStripped(scalar) {
                decomposed += String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars
            } else {
                decomposed.append(scalar)
            }
        }
        canonicallyOrder(&decomposed)
        return decomposed.filter { !BertCharacter.isNonspacingMark($0) }
    }

    /// Unicode's canonical ordering: each run of non-starters sorted stably by combining class.
    private static func canonicallyOrder(_ scalars: inout [Unicode.Scalar]) {
        var index = 0
        while index < scalars.count {
            guard scalars[index].value >= 0x300, scalars[index].properties.canonicalCombiningClass.rawValue != 0 else {
                index += 1
                continue
            }
            var end = index + 1
            while end < scalars.count, scalars[end].value >= 0x300,
                  scalars[end].properties.canonicalCombiningClass.rawValue != 0 { end += 1 }
            if end - index > 1 {
                let run = scalars[index..<end].enumerated().sorted {
                    let a = $0.element.properties.canonicalCombiningClass.rawValue
                    let b = $1.element.properties.canonicalCombiningClass.rawValue
                    return a != b ? a < b : $0.offset < $1.offset
                }
                scalars.replaceSubrange(index..<end, with: run.map(\.element))
            }
            index = end
        }
    }

    /// Full lower-case mappings character by character (Rust's `char::to_lowercase`: İ → "i̇",
    /// and no final-sigma rule).
    static func lowercase(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for scalar in scalars {
            let value = scalar.value
            if value < 0x80 {
                out.append(value >= 0x41 && value <= 0x5A ? Unicode.Scalar(UInt8(value + 32)) : scalar)
            } else {
                out += scalar.properties.lowercaseMapping.unicodeScalars
            }
        }
        return out
    }
}
