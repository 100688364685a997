import Foundation
import GlimpseCore
import GlimpseText

extension Checkpoint {
    /// The tokenizer files of the folder, in the order the text models prefer them.
    public var tokenizerFiles: [String]? { ModelFiles.tokenizer.alternatives.first { $0.allSatisfy(exists) } }

    /// The weights file the models read (for messages): the first present of the names the
    /// loaders try.
    public var weightsFile: String {
        let names = ModelFiles.weights.alternatives.flatMap { $0 } + ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        return names.first(where: exists).map { file($0).path } ?? folder.path
    }

    /// Checks, once at load, that every id the tokenizer can produce has a row in the model's
    /// token embedding table. A tokenizer of a larger vocabulary (from another model, or a
    /// crafted one) would otherwise fail on some texts only, with an error naming no file.
    public func requireTokenizerFits(vocabularySize: Int, embeddingRows: Int, table: String) throws {
        guard vocabularySize > embeddingRows else { return }
        let tokenizer = tokenizerFiles?.map { file($0).path }.joined(separator: " + ") ?? folder.path
        throw GlimpseError.invalidFile(path: tokenizer, reason: "the tokenizer has token ids up to \(vocabularySize - 1), but \(weightsFile) has \(embeddingRows) rows in its token embedding table '\(table)' (config.json vocab_size); the tokenizer belongs to another model")
    }
}

extension Checkpoint {
    /// The folder's CLIP tokenizer, built on a background thread (it takes longer than mapping
    /// the weights) and checked once against the model's `embeddingRows`.
    func clipTokenizerInBackground(embeddingRows: Int) -> Background<CLIPTokenizer> {
        let checkpoint = self
        return Background {
            let tokenizer = try CLIPTokenizer.load(folder: checkpoint.folder)
            try checkpoint.requireTokenizerFits(vocabularySize: tokenizer.vocabularySize, embeddingRows: embeddingRows,
                                                table: "token_embedding")
            return tokenizer
        }
    }
}
