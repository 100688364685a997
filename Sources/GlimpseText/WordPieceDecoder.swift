/// Turns word pieces back into text as Hugging Face does: the `tokenizers` WordPiece decoder
/// (continuation prefix removed, other pieces after a space, its clean-up applied to each piece
/// on its own), then optionally transformers' `clean_up_tokenization` on the joined text.
/// Replacements work on scalars, so a combining mark after "." cannot hide a match.
struct WordPieceDecoder: Sendable {
    /// Nil when tokenizer.json names no decoder: pieces are then joined with spaces.
    var prefix: String? = "##"
    var cleanup = true

    private static let pieceCleanup: [(String, String)] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ]
    private static let textCleanup: [(String, String)] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ]

    func decode(_ tokens: [String], cleanUpSpaces: Bool) -> String {
        var text: [Unicode.Scalar] = []
        if let prefix {
            let prefixScalars = Array(prefix.unicodeScalars)
            for (index, token) in tokens.enumerated() {
                var piece = Array(token.unicodeScalars)
                if index != 0 {
                    if !prefixScalars.isEmpty, piece.starts(with: prefixScalars) {
                        piece.removeFirst(prefixScalars.count)
                    } else {
                        piece.insert(" ", at: 0)
                    }
                }
                if cleanup { piece = Self.replacing(piece, Self.pieceCleanup) }
                text += piece
            }
        } else {
            for (index, token) in tokens.enumerated() {
                if index != 0 { text.append(" ") }
                text += token.unicodeScalars
            }
        }
        if cleanUpSpaces { text = Self.replacing(text, Self.textCleanup) }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text)
        return String(view)
    }

    /// Each replacement in turn, like chained `str.replace`: left to right, non-overlapping.
    static func replacing(_ text: [Unicode.Scalar], _ replacements: [(String, String)]) -> [Unicode.Scalar] {
        var text = text
        for (pattern, replacement) in replacements {
            let target = Array(pattern.unicodeScalars), with = Array(replacement.unicodeScalars)
            guard text.count >= target.count, text.contains(target[0]) else { continue }
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(text.count)
            var index = 0
            while index < text.count {
                if text[index] == target[0], index + target.count <= text.count,
                   text[index..<index + target.count].elementsEqual(target) {
                    out += with
                    index += target.count
                } else {
                    out.append(text[index])
                    index += 1
                }
            }
            text = out
        }
        return text
    }
}
