import ArgumentParser
import Foundation
import Glimpse

/// `--model` for every command: a model folder, or a Hub id `ORG/NAME[@REVISION]` found in
/// (or downloaded into) the Hugging Face cache, with a download bar on standard error.
/// Every command resolves `--model` here, through the library's `ModelLocator`.
func locateModel(_ spec: String, files: ModelFiles = .model, quiet: Bool, precision: Precision = .fp32) throws -> Checkpoint {
    var checkpoint = try ModelLocator.resolve(spec, files: files, environment: HubEnvironment(), progress: downloadProgress(quiet: quiet))
    checkpoint.precision = precision
    return checkpoint
}

/// A download bar on standard error, or nothing with `--quiet`.
func downloadProgress(quiet: Bool) -> DownloadProgressHandler? {
    guard !quiet else { return nil }
    let bar = DownloadBar()
    return { bar.update($0) }
}

extension ModelOptions {
    /// The folder `--model` names, at `--precision`.
    func checkpoint(files: ModelFiles = .model) throws -> Checkpoint {
        try locateModel(model, files: files, quiet: quiet, precision: precision)
    }

    /// The model `--model` names (folder or Hub id), opened as the library's `init(model:)` does.
    func open<Model: CheckpointLoadable>(_ type: Model.Type) throws -> Model {
        try Model(model: model, precision: precision, progress: downloadProgress(quiet: quiet))
    }
}

extension Precision: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}

let precisionHelp = ArgumentHelp(
    "Number format of the linear layers: fp32 (default, exact), bf16 or int8.",
    discussion: "bf16 and int8 are faster and approximate: embeddings keep a cosine of at least 0.999 to fp32 (see README, Precision).")

let modelHelp = ArgumentHelp(
    "Model folder (Hugging Face layout) or Hub id ORG/NAME[@REVISION].",
    discussion: "A Hub id is looked up in the Hugging Face cache (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) and missing files are downloaded from HF_ENDPOINT; HF_HUB_OFFLINE=1 uses the cache only, HF_TOKEN gives access to gated models.")

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(bytes), unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// One line per file being downloaded: bar, bytes and rate; redrawn in place on a terminal,
/// else a line every few seconds and one when the file is done.
final class DownloadBar: @unchecked Sendable {
    private let lock = NSLock()
    private let terminal = isatty(STDERR_FILENO) != 0
    private var file = ""
    private var start = Date()
    private var lastDraw = Date.distantPast

    func update(_ progress: DownloadProgress) {
        lock.withLock {
            let now = Date()
            if progress.file != file { file = progress.file; start = now; lastDraw = terminal ? .distantPast : now }
            guard progress.finished || now.timeIntervalSince(lastDraw) >= (terminal ? 0.1 : 5) else { return }
            lastDraw = now
            let rate = Double(progress.received) / max(now.timeIntervalSince(start), 1e-3)
            var text = "downloading \(progress.file) "
            if let total = progress.total, total > 0 {
                let width = 24
                let filled = min(width, Int(Double(progress.received) / Double(total) * Double(width)))
                text += String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                text += " \(formatBytes(progress.received))/\(formatBytes(total))"
            } else {
                text += formatBytes(progress.received)
            }
            text += " \(formatBytes(Int64(rate)))/s"
            let line = terminal ? "\r\u{1B}[K" + text + (progress.finished ? "\n" : "") : text + "\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
