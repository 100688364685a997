import GlimpseCore

/// Checks a batch of token-id sequences against a text model's vocabulary and positions and
/// returns each sequence's rows when the batch is packed back to back. `offset` is the number
/// of positions already used by every sequence (the cached length when decoding incrementally).
/// Shared by every text tower (CLIP's and BERT's), so ids are checked the same way everywhere.
func packedSequences(_ batch: [[Int]], vocabularySize: Int, maxPositions: Int, offset: Int = 0) throws -> [Range<Int>] {
    var start = 0
    return try batch.map { ids in
        guard !ids.isEmpty else { throw GlimpseError.invalidArgument("empty token sequence") }
        guard ids.count <= maxPositions - offset else {
            throw GlimpseError.invalidArgument("token sequence of \(offset + ids.count) exceeds the \(maxPositions) positions of this model")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw GlimpseError.invalidArgument("token id \(bad) is outside the vocabulary of \(vocabularySize)")
        }
        defer { start += ids.count }
        return start ..< start + ids.count
    }
}
