import Foundation

/// Which files of a Hub repository a model needs, so only those are fetched (a repository
/// often carries the same weights in several formats, and other frameworks' files besides).
public struct ModelFiles: Sendable {
    /// One need met by the first of several alternative file sets, e.g. the weights as
    /// `model.safetensors`, else a sharded index, else `pytorch_model.bin`.
    public struct Choice: Sendable {
        public var name: String
        public var alternatives: [[String]]
        public var required: Bool

        public init(name: String, alternatives: [[String]], required: Bool) {
            self.name = name
            self.alternatives = alternatives
            self.required = required
        }

        var listing: String {
            let sets = alternatives.map { $0.joined(separator: " + ") }
            return "\(name) (" + (sets.count > 1 ? sets.dropLast().joined(separator: ", ") + " or " + (sets.last ?? "") : sets.joined()) + ")"
        }
    }

    public var required: [String]
    public var optional: [String]
    public var choices: [Choice]

    public init(required: [String], optional: [String] = [], choices: [Choice] = []) {
        self.required = required
        self.optional = optional
        self.choices = choices
    }

    /// Safetensors first (memory-mapped, no code execution), then its sharded index (whose
    /// shards are fetched too), then PyTorch pickles.
    public static let weights = Choice(name: "weights", alternatives: [
        ["model.safetensors"], ["model.safetensors.index.json"], ["pytorch_model.bin"], ["pytorch_model.bin.index.json"],
    ], required: true)

    /// The tokenizer files the text models read, in the order they are preferred.
    public static let tokenizer = Choice(name: "tokenizer", alternatives: [
        ["vocab.json", "merges.txt"], ["tokenizer.json"], ["vocab.txt"], ["bpe_simple_vocab_16e6.txt.gz"],
    ], required: false)

    /// Everything a vision-language model uses: config, weights, image preprocessing and tokenizer.
    public static let model = ModelFiles(required: ["config.json"],
                                         optional: ["preprocessor_config.json", "tokenizer_config.json"],
                                         choices: [weights, tokenizer])

    /// What tokenizing needs: no weights.
    public static let tokenizerOnly = ModelFiles(required: ["config.json"], optional: ["tokenizer_config.json"],
                                                 choices: [Choice(name: "tokenizer", alternatives: tokenizer.alternatives, required: true)])

    /// The shard files a `*.index.json` names in its `weight_map`.
    static func shards(ofIndex url: URL) throws -> [String] {
        let data = try InputFile.read(url.path, what: "weight index", limit: Limits.configFileBytes)
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = json["weight_map"] as? [String: Any] else {
            throw GlimpseError.invalidFile(path: url.path, reason: "not a weight index (no \"weight_map\" object)")
        }
        let files = Set(map.values.compactMap { $0 as? String })
        for file in files where !HubReplyCheck.isRepositoryPath(file) {
            throw GlimpseError.invalidFile(path: url.path, reason: "shard name \(file.debugDescription) is not a file inside the model folder")
        }
        return files.sorted()
    }
}
