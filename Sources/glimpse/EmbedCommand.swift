import ArgumentParser
import Foundation
import Glimpse

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed images and/or texts into the model's shared space.",
        discussion: """
        One object per input: {"input": ..., "kind": "image"|"text", "embedding": [...]}. Embeddings are \
        L2-normalised unless --raw. CLIP folders embed images and texts; BERT sentence-embedding folders \
        (model_type "bert", e.g. all-MiniLM-L6-v2) embed texts by mean pooling.

        Bulk: given dataset INPUTs (or --stdin), a CLIP model embeds every record into --out in the \
        clip-retrieval layout: img_emb/img_emb_K.npy, text_emb/text_emb_K.npy ([n, dim], --dtype) and \
        metadata/metadata_K.jsonl (one object per row, same order), one of each per committed chunk K; \
        failed records go to errors.jsonl, the totals to summary.json. Killed at any point, the same \
        command continues where it stopped. With --stdout: one JSON line per record instead \
        ({"key","source","image_path","caption","metadata","image_embedding"?,"text_embedding"?}, \
        or {"key","source","error"}).
        """
    )

    @OptionGroup var options: ModelOptions

    @Option(name: .long, parsing: .upToNextOption, help: "Image files to embed.")
    var image: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Texts to embed.")
    var text: [String] = []

    @Flag(help: "Projected features as the model outputs them (get_image_features / get_text_features), not normalised.")
    var raw = false

    @Flag(help: "Cut texts longer than the model's context instead of failing (the end token is kept).")
    var truncate = false

    @OptionGroup var bulk: BulkOptions

    @Option(help: "Bulk: what to embed per record: image, text or both (a record failing either is skipped).")
    var kind: CLIPEmbedJob.Kind = .image

    @Option(help: "Bulk: element type of the .npy files: float32 (fp32) or float16 (fp16).")
    var dtype: NPY.DType = .float32

    func validate() throws {
        if bulk.isBulk {
            guard image.isEmpty, text.isEmpty else { throw ValidationError("give dataset inputs or --image/--text, not both") }
            guard options.format == .jsonl else { throw ValidationError("--format table does not apply to bulk embedding") }
            return
        }
        guard !image.isEmpty || !text.isEmpty else { throw ValidationError("nothing to embed: give --image PATH... and/or --text STRING...") }
        try Check.texts(text, "--text", "text", allowBlank: true)
        if let blank = image.firstIndex(of: "") { throw ValidationError("image \(blank + 1) of --image is an empty path") }
    }

    func run() throws {
        options.apply()
        // One resolution for both kinds: the sentence encoder's files are a superset of CLIP's.
        let checkpoint = try options.checkpoint(files: SentenceEncoder.files)
        if try checkpoint.modelType() == "bert" { return try runSentenceEncoder(checkpoint) }
        let clip = try CLIP(checkpoint: checkpoint)
        if bulk.isBulk {
            let job = try CLIPEmbedJob(clip: clip, kind: kind, dtype: dtype, normalize: !raw, truncate: truncate)
            return try bulk.run(job, batchSize: options.batchSize, quiet: options.quiet)
        }
        var report = InputReport(Output(format: options.format, columns: ["input", "kind", "dim", "embedding"]),
                                 failFast: options.failFast)
        let progress = Progress(total: image.count + text.count, unit: "inputs", quiet: options.quiet)
        for batch in image.chunked(options.batchSize) {
            let embeddings = try clip.embedEach(imageFiles: batch, normalize: !raw)
            for (path, result) in zip(batch, embeddings) {
                if let values = try report.value(result, name: path) { report.output.emit(record(path, "image", values)) }
            }
            progress.advance(batch.count)
        }
        try embedTexts(into: &report, progress: progress) { try clip.embedEach(texts: $0, normalize: !raw, truncate: truncate) }
        progress.finish()
        try report.finish()
    }

    /// Texts in batches, each failing text reported by its position.
    private func embedTexts(into report: inout InputReport, progress: Progress,
                            _ embed: ([String]) throws -> [InputResult<[Float]>]) throws {
        for (start, batch) in text.chunked(options.batchSize).enumerated().map({ ($0 * options.batchSize, $1) }) {
            for (offset, (string, result)) in zip(batch, try embed(batch)).enumerated() {
                if let values = try report.value(result, name: textName(start + offset)) {
                    report.output.emit(record(string, "text", values))
                }
            }
            progress.advance(batch.count)
        }
    }

    /// BERT sentence-embedding checkpoints: texts only, mean-pooled and normalised unless --raw.
    private func runSentenceEncoder(_ checkpoint: Checkpoint) throws {
        guard !bulk.isBulk else {
            throw GlimpseError.unsupported("bulk embedding takes CLIP models; \(options.model) is a BERT text model")
        }
        guard image.isEmpty else {
            throw GlimpseError.invalidArgument("\(options.model) is a BERT text model; it cannot embed images")
        }
        let encoder = try SentenceEncoder(checkpoint: checkpoint)
        var report = InputReport(Output(format: options.format, columns: ["input", "kind", "dim", "embedding"]),
                                 failFast: options.failFast)
        let progress = Progress(total: text.count, unit: "inputs", quiet: options.quiet)
        try embedTexts(into: &report, progress: progress) { try encoder.embedEach(texts: $0, normalize: !raw, truncate: truncate) }
        progress.finish()
        try report.finish()
    }

    private func record(_ input: String, _ kind: String, _ values: [Float]) -> [(String, JSON)] {
        [("input", .string(input)), ("kind", .string(kind)), ("dim", .int(values.count)), ("embedding", .floats(values))]
    }
}

extension CLIPEmbedJob.Kind: ExpressibleByArgument {}
extension NPY.DType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "float32", "fp32": self = .float32
        case "float16", "fp16": self = .float16
        default: return nil
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0 ..< Swift.min($0 + size, count)]) }
    }
}
