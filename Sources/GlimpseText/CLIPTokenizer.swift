import Foundation
import GlimpseBase

/// CLIP's byte-level BPE tokenizer, producing the same ids as OpenAI's `SimpleTokenizer`
/// (ftfy + HTML unescape + lower-casing, then CLIP's split pattern and BPE).
///
/// Immutable after loading except for an internal, locked word cache, so one instance can be
/// shared across threads.
// A struct, not a final class: Swift 6.3's release optimizer crashes (DeadFunctionElimination,
// signal 11) on client modules that construct the class version across modules.
public struct CLIPTokenizer: Sendable {
    /// The text context of every released CLIP model.
    public static let defaultContextLength = 77

    /// `<|startoftext|>`: 49406 for CLIP.
    public let startOfText: Int
    /// `<|endoftext|>`: 49407 for CLIP.
    public let endOfText: Int
    /// One more than the largest id: 49,408 for CLIP.
    public let vocabularySize: Int

    private let merger: BytePairMerger
    /// Vocabulary id of each byte's character, inside a word and at its end (with `</w>`).
    private let byteIDs: [Int32]
    private let finalByteIDs: [Int32]
    /// Bytes of each id's token (with "</w>" as its four ASCII bytes), for decoding.
    private let tokenBytes: [[UInt8]]
    private let cache = WordCache()

    /// Hugging Face slow-tokenizer files: `vocab.json` and `merges.txt`.
    public init(vocabJSON: URL, merges: URL) throws {
        try self.init(vocabulary: try BPEVocabulary.load(vocabJSON: vocabJSON, merges: merges), path: vocabJSON.path)
    }

    /// A Hugging Face fast-tokenizer file (`tokenizer.json`, BPE model).
    public init(tokenizerJSON: URL) throws {
        try self.init(vocabulary: try BPEVocabulary.load(tokenizerJSON: tokenizerJSON), path: tokenizerJSON.path)
    }

    /// OpenAI's original `bpe_simple_vocab_16e6.txt.gz`.
    public init(bpeVocabGzip: URL) throws {
        try self.init(vocabulary: try BPEVocabulary.load(gzip: bpeVocabGzip), path: bpeVocabGzip.path)
    }

    init(vocabulary: BPEVocabulary, path: String) throws {
        func id(_ token: String) throws -> Int32 {
            guard let id = vocabulary.ids[token] else {
                throw GlimpseError.invalidFile(path: path, reason: "vocabulary has no token \"\(token)\"")
            }
            return Int32(clamping: id)
        }
        startOfText = Int(try id("<|startoftext|>"))
        endOfText = Int(try id("<|endoftext|>"))
        let characters = ByteLevelAlphabet.characters.map { String(Character($0)) }
        byteIDs = try characters.map { try id($0) }
        finalByteIDs = try characters.map { try id($0 + "</w>") }
        merger = try BytePairMerger(vocabulary: vocabulary, path: path)
        let size = (vocabulary.ids.values.max() ?? -1) + 1
        // Ids index a table below, so a stray huge id must not size it.
        guard size <= max(4 * vocabulary.ids.count, 1 << 16) else {
            throw GlimpseError.invalidFile(path: path, reason: "token ids run to \(size - 1) for \(vocabulary.ids.count) tokens")
        }
        vocabularySize = size
        var bytes = [[UInt8]](repeating: [], count: size)
        for (token, id) in vocabulary.ids {
            bytes[id] = token.unicodeScalars.flatMap { scalar in
                ByteLevelAlphabet.bytes[scalar.value].map { [$0] } ?? Array(String(scalar).utf8)
            }
        }
        tokenBytes = bytes
    }

    /// Loads from a checkpoint folder: `vocab.json` + `merges.txt`, else `tokenizer.json`, else
    /// `bpe_simple_vocab_16e6.txt.gz`.
    public static func load(folder: URL) throws -> CLIPTokenizer {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GlimpseError.fileNotFound(path: folder.path, what: "tokenizer folder")
        }
        let vocab = folder.appendingPathComponent("vocab.json"), merges = folder.appendingPathComponent("merges.txt")
        if manager.fileExists(atPath: vocab.path), manager.fileExists(atPath: merges.path) {
            return try CLIPTokenizer(vocabJSON: vocab, merges: merges)
        }
        let fast = folder.appendingPathComponent("tokenizer.json")
        if manager.fileExists(atPath: fast.path) { return try CLIPTokenizer(tokenizerJSON: fast) }
        let gzip = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
        if manager.fileExists(atPath: gzip.path) { return try CLIPTokenizer(bpeVocabGzip: gzip) }
        throw GlimpseError.fileNotFound(
            path: folder.path,
            what: "CLIP tokenizer files (vocab.json + merges.txt, tokenizer.json, or bpe_simple_vocab_16e6.txt.gz)")
    }

    /// BPE ids of `text` without special tokens. `<|startoftext|>` / `<|endoftext|>` written in
    /// the text become the special ids, as in OpenAI's tokenizer.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        var bytes: [UInt8] = []
        for word in CLIPPreTokenizer.split(CLIPTextCleaner.clean(text)) {
            if let special = specialID(word) {
                ids.append(special)
                continue
            }
            bytes.removeAll(keepingCapacity: true)
            for scalar in word { UTF8.encode(scalar) { bytes.append($0) } }
            if let cached = cache.get(bytes) {
                ids += cached.lazy.map { Int($0) }
                continue
            }
            var symbols = bytes.map { byteIDs[Int($0)] }
            if let last = bytes.last { symbols[symbols.count - 1] = finalByteIDs[Int(last)] }
            merger.merge(&symbols)
            cache.set(bytes, symbols)
            ids += symbols.lazy.map { Int($0) }
        }
        return ids
    }

    /// Ids as the model sees them: `[SOT] + encode(text) + [EOT]`, without padding. Longer than
    /// `contextLength` throws `textTooLong`, unless `truncate` cuts it to exactly
    /// `contextLength` ids with EOT kept last (as OpenAI's `tokenize(truncate=True)`).
    public func tokenize(_ text: String, contextLength: Int = CLIPTokenizer.defaultContextLength,
                         truncate: Bool = false) throws -> [Int] {
        guard contextLength >= 2 else {
            throw GlimpseError.invalidArgument("contextLength must be at least 2 (room for start and end of text), got \(contextLength)")
        }
        var ids = [startOfText] + encode(text) + [endOfText]
        if ids.count > contextLength {
            guard truncate else { throw GlimpseError.textTooLong(text: text, tokens: ids.count, limit: contextLength) }
            ids.removeLast(ids.count - contextLength)
            ids[contextLength - 1] = endOfText
        }
        return ids
    }

    /// Text for `ids`, as OpenAI's `SimpleTokenizer.decode`: byte-level decoding with invalid
    /// UTF-8 replaced by U+FFFD, and every `</w>` turned into a space (so the text usually ends
    /// with one). Special tokens are kept as "<|startoftext|>" / "<|endoftext|>"; ids outside
    /// the vocabulary are skipped (Python would raise).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokenBytes.count { bytes += tokenBytes[id] }
        // Replace "</w>" on the bytes: all four are ASCII, so this equals Python's replace on the
        // decoded text, and it cannot be confused by a combining mark following ">".
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x3C, index + 3 < bytes.count, bytes[index + 1] == 0x2F,
               bytes[index + 2] == 0x77, bytes[index + 3] == 0x3E {
                out.append(0x20)
                index += 4
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let startScalars = Array("<|startoftext|>".unicodeScalars)
    private static let endScalars = Array("<|endoftext|>".unicodeScalars)

    /// OpenAI's cache is seeded with the two special strings, so only these exact spellings map
    /// to the special ids (a variant matched case-insensitively goes through BPE).
    private func specialID(_ word: ArraySlice<Unicode.Scalar>) -> Int? {
        guard word.first == "<" else { return nil }
        if word.elementsEqual(Self.startScalars) { return startOfText }
        if word.elementsEqual(Self.endScalars) { return endOfText }
        return nil
    }
}
