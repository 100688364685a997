import Foundation
import GlimpseBase

/// BERT's WordPiece tokenizer with the ids of Hugging Face's `BertTokenizer` (transformers 5,
/// backed by `tokenizers`): added and special tokens are cut out of the raw text first, the rest
/// is normalized (`BertNormalizer`), split on whitespace and punctuation, and broken into
/// greedy longest-match-first word pieces. Used by BLIP and BERT sentence-embedding models.
///
/// Immutable after loading, so one value can be shared across threads.
// A struct, not a final class: Swift 6.3's release optimizer crashes (DeadFunctionElimination,
// signal 11) on client modules that construct the class version across modules.
public struct WordPieceTokenizer: Sendable {
    /// One more than the largest id, added tokens included (30,524 for BLIP).
    public let vocabularySize: Int
    public let clsId: Int
    public let sepId: Int
    public let padId: Int
    public let unkId: Int
    public let maskId: Int?
    /// `model_max_length` from tokenizer_config.json, when it names a real limit.
    public let modelMaxLength: Int?

    let normalizer: BertNormalizer
    let model: WordPieceModel
    let decoder: WordPieceDecoder
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let addedByID: [Int: AddedToken]
    private let addedIDs: [[UInt8]: Int]

    /// A `vocab.txt` file. `addedTokens` become special tokens (matched whole in raw text and
    /// skipped when decoding) with ids after the vocabulary, in order, unless already in it.
    public init(vocabulary: URL, lowercase: Bool = true, stripAccents: Bool? = nil,
                            splitChineseCharacters: Bool = true, addedTokens: [String] = []) throws {
        var configuration = WordPieceConfiguration(vocabulary: try WordPieceConfiguration.readVocabularyText(vocabulary),
                                                   path: vocabulary.path)
        configuration.normalizer = BertNormalizer(cleanText: true, handleChineseCharacters: splitChineseCharacters,
                                                  stripAccents: stripAccents ?? lowercase, lowercase: lowercase)
        configuration.addSpecialTokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + addedTokens)
        try self.init(configuration)
    }

    /// Loads from a checkpoint folder: `tokenizer.json`, else `vocab.txt` with
    /// `tokenizer_config.json` / `special_tokens_map.json` / `added_tokens.json` when present.
    public static func load(folder: URL) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(WordPieceConfiguration.load(folder: folder))
    }

    init(_ configuration: WordPieceConfiguration) throws {
        let path = configuration.path
        let vocabulary = configuration.vocabulary
        let added = configuration.addedTokens
        var addedIDs: [[UInt8]: Int] = [:]
        var addedByID: [Int: AddedToken] = [:]
        for token in added {
            addedIDs[Array(String(String.UnicodeScalarView(token.content)).utf8)] = token.id
            addedByID[token.id] = token
        }
        func id(_ token: String) -> Int? { addedIDs[Array(token.utf8)] ?? vocabulary.lookup(token.utf8) }
        func required(_ token: String, _ role: String) throws -> Int {
            guard let value = id(token) else {
                throw GlimpseError.invalidFile(path: path, reason: "the vocabulary has no \(role) token \"\(token)\"")
            }
            return value
        }
        unkId = try required(configuration.unkToken, "unknown")
        clsId = try required(configuration.clsToken, "classifier")
        sepId = try required(configuration.sepToken, "separator")
        padId = try required(configuration.padToken, "padding")
        maskId = id(configuration.maskToken)
        modelMaxLength = configuration.modelMaxLength
        vocabularySize = max(vocabulary.count, (added.map(\.id).max() ?? -1) + 1)
        normalizer = configuration.normalizer
        guard let modelUnknown = vocabulary.lookup(configuration.unkToken.utf8) else {
            throw GlimpseError.invalidFile(path: path, reason: "the WordPiece vocabulary has no unknown token \"\(configuration.unkToken)\"")
        }
        model = WordPieceModel(vocabulary: vocabulary, unknownID: modelUnknown, continuingPrefix: configuration.continuingPrefix,
                               maxInputCharactersPerWord: configuration.maxInputCharactersPerWord)
        decoder = configuration.decoder
        rawMatcher = AddedTokenMatcher(added.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(added.filter(\.normalized))
        self.addedByID = addedByID
        self.addedIDs = addedIDs
    }

    /// The id of a vocabulary or added token, compared byte for byte.
    public func id(of token: String) -> Int? { addedIDs[Array(token.utf8)] ?? model.vocabulary.lookup(token.utf8) }

    /// The token of an id (added tokens first, as the reference looks them up).
    public func token(of id: Int) -> String? {
        if let added = addedByID[id] { return String(String.UnicodeScalarView(added.content)) }
        let tokens = model.vocabulary.tokens
        return id >= 0 && id < tokens.count ? tokens[id] : nil
    }

    /// Word pieces of `text` (added tokens written in the text appear whole), without [CLS]/[SEP].
    public func tokens(_ text: String) -> [String] {
        pieceIDs(text).map { token(of: $0) ?? "" }
    }

    /// `[CLS] pieces [SEP]` (or the pieces alone). Longer than `maxLength` throws `textTooLong`,
    /// unless `truncate` cuts it to `maxLength` ids with [SEP] kept last, as Hugging Face's
    /// `truncation=True`. `maxLength` nil means no limit.
    public func encode(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil, truncate: Bool = false) throws -> [Int] {
        let minimum = addSpecialTokens ? 2 : 1
        if let maxLength, maxLength < minimum {
            throw GlimpseError.invalidArgument("maxLength must be at least \(minimum)\(addSpecialTokens ? " (room for [CLS] and [SEP])" : ""), got \(maxLength)")
        }
        var ids = pieceIDs(text)
        if addSpecialTokens { ids = [clsId] + ids + [sepId] }
        if let maxLength, ids.count > maxLength {
            guard truncate else { throw GlimpseError.textTooLong(text: text, tokens: ids.count, limit: maxLength) }
            ids.removeLast(ids.count - maxLength)
            if addSpecialTokens { ids[maxLength - 1] = sepId }
        }
        return ids
    }

    /// Text for `ids` as Hugging Face's `decode(ids, skip_special_tokens:, clean_up_tokenization_spaces:)`:
    /// unknown ids are dropped, pieces joined by the WordPiece decoder ("##" glued on, others
    /// after a space, its per-token clean-up), then, with `cleanUpSpaces`, transformers' clean-up
    /// of the whole text (" ." → "." etc.).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true, cleanUpSpaces: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens, let added = addedByID[id], added.special { continue }
            if let token = token(of: id) { tokens.append(token) }
        }
        return decoder.decode(tokens, cleanUpSpaces: cleanUpSpaces)
    }

    /// Ids of `text` without [CLS]/[SEP].
    func pieceIDs(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3 + 2)
        var words: [ArraySlice<Unicode.Scalar>] = []
        var bytes: [UInt8] = []
        for segment in rawMatcher.split(scalars) {
            switch segment {
            case let .token(id): ids.append(id)
            case let .text(range):
                let normalized = normalizer.normalize(scalars[range])
                for inner in normalizedMatcher.split(normalized) {
                    switch inner {
                    case let .token(id): ids.append(id)
                    case let .text(innerRange):
                        words.removeAll(keepingCapacity: true)
                        BasicTokenizer.words(innerRange.count == normalized.count ? normalized : Array(normalized[innerRange]), into: &words)
                        for word in words { model.encode(word, into: &ids, bytes: &bytes) }
                    }
                }
            }
        }
        return ids
    }
}
