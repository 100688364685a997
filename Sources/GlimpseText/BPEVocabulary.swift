import Foundation
import GlimpseBase

/// A byte-level BPE vocabulary as read from disk: token strings with their ids, and the merges
/// in rank order. The three on-disk formats CLIP ships in all reduce to this.
struct BPEVocabulary {
    /// Token string → id. Where a string occurs twice the later id wins, as in Python's dict.
    var ids: [String: Int]
    /// Merges in rank order (first = applied first).
    var merges: [(String, String)]

    /// How many merges OpenAI's tokenizer reads from the gz file: 49152 - 256 - 2.
    static let openAIMergeCount = 49152 - 256 - 2

    /// OpenAI's `bpe_simple_vocab_16e6.txt.gz`: a header line, then one merge per line. The vocab
    /// is not stored: it is the 256 byte characters, the same with `</w>`, every merge joined,
    /// then `<|startoftext|>` and `<|endoftext|>`.
    static func load(gzip url: URL) throws -> BPEVocabulary {
        let path = url.path
        let data = try readFile(url, what: "CLIP BPE merges (bpe_simple_vocab_16e6.txt.gz)")
        let text = try utf8(try Gzip.decompress(data, path: path), path: path)
        let lines = splitLines(text)
        guard lines.count > 1 else { throw GlimpseError.invalidFile(path: path, reason: "no merges after the header line") }
        let end = min(lines.count, openAIMergeCount + 1)
        var merges: [(String, String)] = []
        merges.reserveCapacity(end - 1)
        for index in 1..<end {
            merges.append(try mergePair(lines[index], line: index + 1, path: path))
        }
        var tokens = ByteLevelAlphabet.vocabularyOrder.map { String(Character(ByteLevelAlphabet.characters[Int($0)])) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { ids[token] = id }
        return BPEVocabulary(ids: ids, merges: merges)
    }

    /// Hugging Face's slow-tokenizer pair: `vocab.json` (token → id) and `merges.txt`
    /// (optional `#version` header, then "a b" per line).
    static func load(vocabJSON: URL, merges mergesURL: URL) throws -> BPEVocabulary {
        let vocabData = try readFile(vocabJSON, what: "CLIP vocabulary (vocab.json)")
        let mergesData = try readFile(mergesURL, what: "CLIP merges (merges.txt)")
        let json = try parseJSON(vocabData, path: vocabJSON.path)
        guard let object = json as? [String: Any] else {
            throw GlimpseError.invalidFile(path: vocabJSON.path, reason: "expected a JSON object mapping tokens to ids")
        }
        let ids = try vocabularyIDs(object, path: vocabJSON.path)
        let text = try utf8(mergesData, path: mergesURL.path)
        var merges: [(String, String)] = []
        for (index, line) in splitLines(text).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.isEmpty || (index == 0 && trimmed.hasPrefix("#version")) { continue }
            merges.append(try mergePair(trimmed, line: index + 1, path: mergesURL.path))
        }
        return BPEVocabulary(ids: ids, merges: merges)
    }

    /// Hugging Face's fast-tokenizer file: `model.vocab` and `model.merges` ("a b" strings or
    /// ["a", "b"] pairs), plus `added_tokens` for special tokens missing from the vocab.
    static func load(tokenizerJSON url: URL) throws -> BPEVocabulary {
        let path = url.path
        let json = try parseJSON(try readFile(url, what: "tokenizer file (tokenizer.json)"), path: path)
        guard let root = json as? [String: Any], let model = root["model"] as? [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "no \"model\" object")
        }
        if let type = model["type"] as? String, type != "BPE" {
            throw GlimpseError.invalidFile(path: path, reason: "model type is \(type), expected BPE")
        }
        guard let vocabObject = model["vocab"] as? [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "no \"model.vocab\" object")
        }
        var ids = try vocabularyIDs(vocabObject, path: path)
        for case let added as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            if let content = added["content"] as? String, let id = added["id"] as? Int, ids[content] == nil {
                try checkID(id, "added token \"\(content.prefix(40))\"", path: path)
                ids[content] = id
            }
        }
        guard let mergeList = model["merges"] as? [Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "no \"model.merges\" array")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeList.count)
        for (index, entry) in mergeList.enumerated() {
            if let line = entry as? String {
                merges.append(try mergePair(Substring(line), line: index + 1, path: path, what: "merge"))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw GlimpseError.invalidFile(path: path, reason: "merge \(index + 1) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        return BPEVocabulary(ids: ids, merges: merges)
    }

    // MARK: helpers

    /// A tokenizer file, checked like every user-given file (regular, at most `Limits.tokenizerFileBytes`).
    private static func readFile(_ url: URL, what: String) throws -> Data {
        try InputFile.read(url.path, what: what, limit: Limits.tokenizerFileBytes)
    }

    /// UTF-8 text without NULs, or an error naming the file and what is wrong.
    private static func utf8(_ data: Data, path: String) throws -> String {
        try InputFile.decodeText(data, path: path, what: "merges file")
    }

    private static func parseJSON(_ data: Data, path: String) throws -> Any {
        do { return try JSONSerialization.jsonObject(with: data) } catch {
            throw GlimpseError.invalidFile(path: path, reason: "malformed JSON: \(error.localizedDescription)")
        }
    }

    private static func vocabularyIDs(_ object: [String: Any], path: String) throws -> [String: Int] {
        var ids: [String: Int] = [:]
        ids.reserveCapacity(object.count)
        for (token, value) in object {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0 else {
                throw GlimpseError.invalidFile(path: path, reason: "vocabulary entry \"\(token.prefix(40))\" has no non-negative integer id")
            }
            try checkID(id, "vocabulary entry \"\(token.prefix(40))\"", path: path)
            ids[token] = id
        }
        return ids
    }

    /// Token ids index tables and must fit the model's 32-bit ids: 0 ..< `Limits.configDimension`.
    static func checkID(_ id: Int, _ what: String, path: String) throws {
        guard (0..<Limits.configDimension).contains(id) else {
            throw GlimpseError.invalidFile(path: path, reason: "\(what) has id \(id), outside 0..<\(Limits.configDimension)")
        }
    }

    /// Lines split on U+000A only, working on scalars so that "\r\n" (one Character) still splits.
    private static func splitLines(_ text: String) -> [Substring] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { Substring($0) }
    }

    /// One merge rule: exactly two white-space separated symbols, as Python's `str.split()` sees them.
    private static func mergePair(_ line: Substring, line number: Int, path: String, what: String = "line") throws -> (String, String) {
        let parts = line.unicodeScalars.split(whereSeparator: PythonText.isSpace).map { String($0) }
        guard parts.count == 2 else {
            throw GlimpseError.invalidFile(path: path, reason: "\(what) \(number) is not a merge of two symbols: \"\(line.prefix(40))\"")
        }
        return (parts[0], parts[1])
    }
}
