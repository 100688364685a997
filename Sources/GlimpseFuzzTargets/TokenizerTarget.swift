import Foundation
import GlimpseText

/// Tokenizer files, loaded from a folder as `glimpse` loads them, then used on a few texts.
///
/// One input stands for up to four files, separated by NUL bytes (which no tokenizer file may
/// contain). The first part says what the files are:
/// - gzip data (the whole input): OpenAI's `bpe_simple_vocab_16e6.txt.gz` (CLIP);
/// - a JSON object with a `"model"` key: `tokenizer.json` (CLIP BPE and WordPiece), followed by
///   `tokenizer_config.json` and `special_tokens_map.json`;
/// - another JSON object: `vocab.json`, followed by `merges.txt` (CLIP);
/// - text: `vocab.txt` (WordPiece), followed by `tokenizer_config.json`,
///   `special_tokens_map.json` and `added_tokens.json`.
enum TokenizerTarget {
    static let texts = [
        "a photo of a cat", "A Diagram!! <|startoftext|>x<|endoftext|> [CLS] [MASK] ##ing",
        "naïve café 東京 🙂 \u{301}e\u{200B}", "&amp; &lt;b&gt; don't", "",
    ]

    static func run(_ input: [UInt8]) throws {
        let folder = try FuzzScratch.folder(.tokenizer)
        // Gzip data holds NUL bytes of its own: it is one whole file.
        let gzip = input.starts(with: [0x1F, 0x8B])
        let parts = gzip ? [input[...]] : input.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        let first = parts[0]
        var clip = false, wordPiece = false
        let names: [String]
        if gzip {
            names = ["bpe_simple_vocab_16e6.txt.gz"]
            clip = true
        } else if let object = try? JSONSerialization.jsonObject(with: Data(first)) as? [String: Any] {
            if object["model"] != nil {
                names = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
                (clip, wordPiece) = (true, true)
            } else {
                names = ["vocab.json", "merges.txt"]
                clip = true
            }
        } else {
            names = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
            wordPiece = true
        }
        for (part, name) in zip(parts, names) { try FuzzScratch.write(part, name, in: folder) }

        // A tokenizer.json is tried as both kinds; the input counts as accepted when either
        // took it, and the first refusal is reported otherwise.
        var firstError: (any Error)?
        var accepted = false
        if clip {
            do { try use(CLIPTokenizer.load(folder: folder)); accepted = true } catch { firstError = error }
        }
        if wordPiece {
            do { try use(WordPieceTokenizer.load(folder: folder)); accepted = true } catch { firstError = firstError ?? error }
        }
        if !accepted, let firstError { throw firstError }
    }

    static func use(_ tokenizer: CLIPTokenizer) throws {
        for text in texts {
            let ids = tokenizer.encode(text)
            blackHole(tokenizer.decode(ids))
            _ = try? tokenizer.tokenize(text, contextLength: 16, truncate: true)
        }
        blackHole(tokenizer.decode([-1, 0, tokenizer.vocabularySize - 1, tokenizer.vocabularySize, Int.max]))
    }

    static func use(_ tokenizer: WordPieceTokenizer) throws {
        for text in texts {
            let ids = try tokenizer.encode(text, maxLength: 16, truncate: true)
            blackHole(tokenizer.decode(ids))
            blackHole(tokenizer.tokens(text))
        }
        blackHole(tokenizer.decode([-1, 0, tokenizer.vocabularySize - 1, tokenizer.vocabularySize, Int.max]))
    }
}
