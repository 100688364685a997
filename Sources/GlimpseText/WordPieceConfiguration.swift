import Foundation
import GlimpseBase

/// Everything a `WordPieceTokenizer` is built from, read from Hugging Face files: the fast
/// format (`tokenizer.json`: model.vocab, added_tokens, normalizer and decoder settings) or the
/// slow one (`vocab.txt` plus `tokenizer_config.json`, `special_tokens_map.json`,
/// `added_tokens.json`).
struct WordPieceConfiguration {
    var vocabulary: WordPieceVocabulary
    var path: String
    var normalizer = BertNormalizer()
    var addedTokens: [AddedToken] = []
    var unkToken = "[UNK]", clsToken = "[CLS]", sepToken = "[SEP]", padToken = "[PAD]", maskToken = "[MASK]"
    var continuingPrefix = "##"
    var maxInputCharactersPerWord = 100
    var decoder = WordPieceDecoder()
    var modelMaxLength: Int?

    init(vocabulary: WordPieceVocabulary, path: String) {
        self.vocabulary = vocabulary
        self.path = path
    }

    /// Adds special tokens not yet added: their vocabulary id, else the next free id.
    mutating func addSpecialTokens(_ tokens: [String]) {
        for token in tokens where !token.isEmpty {
            let scalars = Array(token.unicodeScalars)
            if addedTokens.contains(where: { $0.content == scalars }) { continue }
            let id = vocabulary.lookup(token.utf8) ?? max(vocabulary.count, (addedTokens.map(\.id).max() ?? -1) + 1)
            addedTokens.append(AddedToken(content: scalars, id: id))
        }
    }

    static func load(folder: URL) throws -> WordPieceConfiguration {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GlimpseError.fileNotFound(path: folder.path, what: "tokenizer folder")
        }
        let fast = folder.appendingPathComponent("tokenizer.json"), vocab = folder.appendingPathComponent("vocab.txt")
        var configuration: WordPieceConfiguration
        let settings = try TokenizerSettings(folder: folder)
        if FileManager.default.fileExists(atPath: fast.path) {
            configuration = try fromTokenizerJSON(fast)
        } else if FileManager.default.fileExists(atPath: vocab.path) {
            configuration = WordPieceConfiguration(vocabulary: try readVocabularyText(vocab), path: vocab.path)
            let lowercase = settings.bool("do_lower_case") ?? true
            configuration.normalizer = BertNormalizer(
                cleanText: true, handleChineseCharacters: settings.bool("tokenize_chinese_chars") ?? true,
                stripAccents: settings.bool("strip_accents") ?? lowercase, lowercase: lowercase)
            configuration.addedTokens = settings.addedTokensDecoder
        } else {
            throw GlimpseError.fileNotFound(path: folder.path, what: "WordPiece tokenizer files (tokenizer.json, or vocab.txt)")
        }
        configuration.unkToken = settings.token("unk_token") ?? configuration.unkToken
        configuration.clsToken = settings.token("cls_token") ?? "[CLS]"
        configuration.sepToken = settings.token("sep_token") ?? "[SEP]"
        configuration.padToken = settings.token("pad_token") ?? "[PAD]"
        configuration.maskToken = settings.token("mask_token") ?? "[MASK]"
        configuration.modelMaxLength = settings.modelMaxLength
        for (token, id) in settings.addedTokensFile.sorted(by: { $0.value < $1.value })
        where !configuration.addedTokens.contains(where: { $0.id == id }) {
            configuration.addedTokens.append(AddedToken(content: Array(token.unicodeScalars), id: id))
        }
        configuration.addSpecialTokens([configuration.padToken, configuration.unkToken, configuration.clsToken,
                                        configuration.sepToken, configuration.maskToken] + settings.extraSpecialTokens)
        return configuration
    }

    /// vocab.txt: one token per line, its line number the id (Python's universal newlines).
    static func readVocabularyText(_ url: URL) throws -> WordPieceVocabulary {
        let text = try readText(url, what: "WordPiece vocabulary (vocab.txt)")
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw GlimpseError.invalidFile(path: url.path, reason: "the vocabulary is empty") }
        return WordPieceVocabulary(lines.enumerated().map { (String($0.element), $0.offset) })
    }

    static func fromTokenizerJSON(_ url: URL) throws -> WordPieceConfiguration {
        let path = url.path
        let root = try parseJSON(try readData(url, what: "tokenizer file (tokenizer.json)"), path: path)
        guard let json = root as? [String: Any], let model = json["model"] as? [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "expected a JSON object with a \"model\" object")
        }
        guard (model["type"] as? String ?? "WordPiece") == "WordPiece" else {
            throw GlimpseError.unsupported("\(path): model type \"\(model["type"] ?? "")\" (only WordPiece is supported here)")
        }
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "model.vocab is missing or not an object of token ids")
        }
        var entries: [(token: String, id: Int)] = []
        entries.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0, id < 4 * vocab.count + 1024, id < Limits.configDimension else {
                throw GlimpseError.invalidFile(path: path, reason: "model.vocab[\"\(token)\"] is not a plausible token id")
            }
            entries.append((token, id))
        }
        guard !entries.isEmpty else { throw GlimpseError.invalidFile(path: path, reason: "model.vocab is empty") }
        var configuration = WordPieceConfiguration(vocabulary: WordPieceVocabulary(entries.sorted { $0.id < $1.id }), path: path)
        configuration.unkToken = model["unk_token"] as? String ?? "[UNK]"
        configuration.continuingPrefix = model["continuing_subword_prefix"] as? String ?? "##"
        configuration.maxInputCharactersPerWord = model["max_input_chars_per_word"] as? Int ?? 100
        if let normalizer = json["normalizer"] as? [String: Any] {
            guard normalizer["type"] as? String == "BertNormalizer" else {
                throw GlimpseError.unsupported("\(path): normalizer \"\(normalizer["type"] ?? "")\" (only BertNormalizer is supported)")
            }
            let lowercase = normalizer["lowercase"] as? Bool ?? true
            configuration.normalizer = BertNormalizer(
                cleanText: normalizer["clean_text"] as? Bool ?? true,
                handleChineseCharacters: normalizer["handle_chinese_chars"] as? Bool ?? true,
                stripAccents: normalizer["strip_accents"] as? Bool ?? lowercase, lowercase: lowercase)
        } else if !(json["normalizer"] is NSNull) && json["normalizer"] != nil {
            throw GlimpseError.invalidFile(path: path, reason: "normalizer is not an object")
        } else {
            configuration.normalizer = BertNormalizer(cleanText: false, handleChineseCharacters: false, stripAccents: false, lowercase: false)
        }
        if let preTokenizer = json["pre_tokenizer"] as? [String: Any], preTokenizer["type"] as? String != "BertPreTokenizer" {
            throw GlimpseError.unsupported("\(path): pre-tokenizer \"\(preTokenizer["type"] ?? "")\" (only BertPreTokenizer is supported)")
        }
        if let decoder = json["decoder"] as? [String: Any], decoder["type"] as? String == "WordPiece" {
            configuration.decoder = WordPieceDecoder(prefix: decoder["prefix"] as? String ?? "##", cleanup: decoder["cleanup"] as? Bool ?? true)
        } else {
            configuration.decoder = WordPieceDecoder(prefix: nil, cleanup: false)
        }
        for (index, item) in (json["added_tokens"] as? [Any] ?? []).enumerated() {
            guard let token = item as? [String: Any], let content = token["content"] as? String, let id = token["id"] as? Int, id >= 0 else {
                throw GlimpseError.invalidFile(path: path, reason: "added_tokens[\(index)] needs a \"content\" string and an \"id\"")
            }
            try BPEVocabulary.checkID(id, "added_tokens[\(index)]", path: path)
            let special = token["special"] as? Bool ?? false
            configuration.addedTokens.append(AddedToken(
                content: Array(content.unicodeScalars), id: id, special: special,
                normalized: token["normalized"] as? Bool ?? !special, leftStrip: token["lstrip"] as? Bool ?? false,
                rightStrip: token["rstrip"] as? Bool ?? false, singleWord: token["single_word"] as? Bool ?? false))
        }
        return configuration
    }

    /// A tokenizer file, checked like every user-given file (regular, at most `Limits.tokenizerFileBytes`).
    static func readData(_ url: URL, what: String) throws -> Data {
        try InputFile.read(url.path, what: what, limit: Limits.tokenizerFileBytes)
    }

    /// A UTF-8 tokenizer file; other encodings and NULs are errors naming the file.
    static func readText(_ url: URL, what: String) throws -> String {
        try InputFile.text(url.path, what: what, limit: Limits.tokenizerFileBytes)
    }

    static func parseJSON(_ data: Data, path: String) throws -> Any {
        do { return try JSONSerialization.jsonObject(with: data) } catch {
            throw GlimpseError.invalidFile(path: path, reason: "malformed JSON: \(error.localizedDescription)")
        }
    }
}
