/// GPT-2 / CLIP byte-level alphabet (`bytes_to_unicode`): every byte gets a printable,
/// non-whitespace stand-in character, so BPE vocabularies can be stored as plain text while
/// still covering arbitrary UTF-8.
enum ByteLevelAlphabet {
    /// The stand-in character for each byte value.
    static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintedAsItself(byte) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // Bytes that are controls, space or U+00AD take the next code point from U+0100 up.
                table[byte] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The reverse map: stand-in code point → byte.
    static let bytes: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in characters.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    /// Vocabulary order of the 256 single-byte tokens, as OpenAI builds it: first the bytes
    /// printed as themselves in ascending order, then the remapped ones.
    static let vocabularyOrder: [UInt8] = {
        let direct = (0..<256).filter(isPrintedAsItself)
        let remapped = (0..<256).filter { !isPrintedAsItself($0) }
        return (direct + remapped).map { UInt8($0) }
    }()

    private static func isPrintedAsItself(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
