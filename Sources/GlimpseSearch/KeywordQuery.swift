/// A keyword query over the captions, taken as plain words: the text is split at everything
/// that is not a letter or digit (as FTS5's unicode61 tokenizer splits captions), and each
/// word goes into the FTS5 MATCH expression as a quoted string, so that quotes, `*`, `-`,
/// `NEAR(`, `OR`, `NOT`, column filters or control characters in what a user typed are words
/// or separators, never query syntax. A caption matches when it has any of the words; BM25
/// ranks those with more, and rarer, words first.
public struct KeywordQuery: Sendable, Equatable {
    /// The distinct words, in the order given, at most `Limits.keywordQueryWords`.
    public let words: [String]

    public init(_ text: String) {
        var words: [String] = [], seen: Set<String> = []
        var current = ""
        func flush() {
            if !current.isEmpty, words.count < Limits.keywordQueryWords, seen.insert(current.lowercased()).inserted {
                words.append(current)
            }
            current = ""
        }
        for character in text {
            if character.isLetter || character.isNumber {
                current.append(character)
                // A "word" as long as the whole query is not a word: cut it.
                if current.unicodeScalars.count >= Limits.keywordWordScalars { flush() }
            } else {
                flush()
            }
            if words.count >= Limits.keywordQueryWords { break }
        }
        flush()
        self.words = words
    }

    /// The FTS5 MATCH expression (`"w1" OR "w2" ...`), or nil when there is no word to match.
    public var expression: String? {
        guard !words.isEmpty else { return nil }
        return words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " OR ")
    }
}
