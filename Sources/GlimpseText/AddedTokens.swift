/// A token added on top of the WordPiece vocabulary (`[DEC]`, `[MASK]`, ...), with Hugging
/// Face's matching options.
struct AddedToken: Sendable {
    var content: [Unicode.Scalar]
    var id: Int
    var special = true
    /// Matched in the normalized text rather than the raw input (off for special tokens).
    var normalized = false
    var leftStrip = false
    var rightStrip = false
    var singleWord = false
}

/// Finds added tokens in text the way `tokenizers` does: non-overlapping, leftmost-longest
/// matches, scanning on after each match (even one discarded by `single_word`).
struct AddedTokenMatcher: Sendable {
    enum Segment { case text(Range<Int>), token(Int) }

    /// Candidate tokens by first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [AddedToken]]

    init(_ tokens: [AddedToken]) {
        var table: [Unicode.Scalar: [AddedToken]] = [:]
        for token in tokens {
            guard let first = token.content.first else { continue }
            table[first, default: []].append(token)
        }
        byFirst = table.mapValues { $0.sorted { $0.content.count > $1.content.count } }
    }

    var isEmpty: Bool { byFirst.isEmpty }

    func split(_ text: [Unicode.Scalar]) -> [Segment] {
        guard !byFirst.isEmpty else { return text.isEmpty ? [] : [.text(0..<text.count)] }
        var segments: [Segment] = []
        var done = 0, position = 0
        while position < text.count {
            guard let candidates = byFirst[text[position]],
                  let token = candidates.first(where: { matches($0.content, in: text, at: position) }) else {
                position += 1
                continue
            }
            var start = position, stop = position + token.content.count
            position = stop
            if token.singleWord {
                let before = start > 0 && BertCharacter.isWordCharacter(text[start - 1])
                let after = stop < text.count && BertCharacter.isWordCharacter(text[stop])
                if before || after { continue }
            }
            if token.leftStrip {
                while start > done, BertCharacter.isWhitespace(text[start - 1]) { start -= 1 }
            }
            if token.rightStrip {
                while stop < text.count, BertCharacter.isWhitespace(text[stop]) { stop += 1 }
                position = stop
            }
            if done < start { segments.append(.text(done..<start)) }
            segments.append(.token(token.id))
            done = stop
        }
        if done < text.count { segments.append(.text(done..<text.count)) }
        return segments
    }

    private func matches(_ content: [Unicode.Scalar], in text: [Unicode.Scalar], at position: Int) -> Bool {
        guard position + content.count <= text.count else { return false }
        for (offset, scalar) in content.enumerated() where text[position + offset] != scalar { return false }
        return true
    }
}
