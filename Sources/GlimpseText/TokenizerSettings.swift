import Foundation
import GlimpseBase

/// The slow-tokenizer side files of a Hugging Face checkpoint, merged: `tokenizer_config.json`
/// over `special_tokens_map.json`, plus `added_tokens.json`. Token values may be plain strings
/// or `{"content": ...}` objects.
struct TokenizerSettings {
    private var values: [String: Any] = [:]
    /// `added_tokens_decoder` of tokenizer_config.json, with their flags.
    private(set) var addedTokensDecoder: [AddedToken] = []
    /// added_tokens.json: token → id.
    private(set) var addedTokensFile: [String: Int] = [:]

    init(folder: URL) throws {
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            let url = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            guard let object = try WordPieceConfiguration.parseJSON(
                try WordPieceConfiguration.readData(url, what: name), path: url.path) as? [String: Any] else {
                throw GlimpseError.invalidFile(path: url.path, reason: "expected a JSON object")
            }
            values.merge(object) { _, new in new }
            if let decoder = object["added_tokens_decoder"] as? [String: Any] {
                for (key, item) in decoder {
                    guard let id = Int(key), let token = item as? [String: Any], let content = token["content"] as? String else {
                        throw GlimpseError.invalidFile(path: url.path, reason: "added_tokens_decoder[\"\(key.prefix(40))\"] needs an integer key and a \"content\"")
                    }
                    try BPEVocabulary.checkID(id, "added_tokens_decoder[\"\(key)\"]", path: url.path)
                    let special = token["special"] as? Bool ?? false
                    addedTokensDecoder.append(AddedToken(
                        content: Array(content.unicodeScalars), id: id, special: special,
                        normalized: token["normalized"] as? Bool ?? !special, leftStrip: token["lstrip"] as? Bool ?? false,
                        rightStrip: token["rstrip"] as? Bool ?? false, singleWord: token["single_word"] as? Bool ?? false))
                }
                addedTokensDecoder.sort { $0.id < $1.id }
            }
        }
        let added = folder.appendingPathComponent("added_tokens.json")
        if FileManager.default.fileExists(atPath: added.path) {
            let object = try WordPieceConfiguration.parseJSON(
                try WordPieceConfiguration.readData(added, what: "added_tokens.json"), path: added.path)
            guard let map = object as? [String: Any] else {
                throw GlimpseError.invalidFile(path: added.path, reason: "expected a JSON object mapping tokens to ids")
            }
            for (token, value) in map {
                guard let id = value as? Int, id >= 0 else {
                    throw GlimpseError.invalidFile(path: added.path, reason: "\"\(token.prefix(40))\" has no integer id")
                }
                try BPEVocabulary.checkID(id, "\"\(token.prefix(40))\"", path: added.path)
                addedTokensFile[token] = id
            }
        }
    }

    func bool(_ key: String) -> Bool? { values[key] as? Bool }

    func token(_ key: String) -> String? {
        if let text = values[key] as? String { return text }
        return (values[key] as? [String: Any])?["content"] as? String
    }

    /// bos/eos and the additional (transformers 4) or extra (transformers 5) special tokens.
    var extraSpecialTokens: [String] {
        var tokens = ["bos_token", "eos_token"].compactMap(token)
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            for item in values[key] as? [Any] ?? [] {
                if let text = item as? String { tokens.append(text) }
                else if let content = (item as? [String: Any])?["content"] as? String { tokens.append(content) }
            }
        }
        return tokens
    }

    /// `model_max_length`, unless it is transformers' "no limit" placeholder (1e30).
    var modelMaxLength: Int? {
        guard let value = values["model_max_length"] as? Double, value > 0, value < 1e12 else { return nil }
        return Int(value)
    }
}
