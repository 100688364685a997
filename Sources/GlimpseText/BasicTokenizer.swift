/// BERT's pre-tokenizer (Hugging Face's `BertPreTokenizer`): split normalized text on
/// whitespace, which is dropped, and around every punctuation character, which becomes a word
/// of its own.
enum BasicTokenizer {
    static func words(_ text: [Unicode.Scalar], into words: inout [ArraySlice<Unicode.Scalar>]) {
        var start = 0
        for (index, scalar) in text.enumerated() {
            if BertCharacter.isWhitespace(scalar) {
                if start < index { words.append(text[start..<index]) }
                start = index + 1
            } else if BertCharacter.isPunctuation(scalar) {
                if start < index { words.append(text[start..<index]) }
                words.append(text[index...index])
                start = index + 1
            }
        }
        if start < text.count { words.append(text[start...]) }
    }
}
