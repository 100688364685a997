import Foundation

/// A model opened from a checkpoint: CLIP, OWL-ViT, BLIP captioning and matching, sentence
/// encoders. Each is opened the same two ways — `init(model:)` for a folder or a Hub id, and
/// `init(checkpoint:)` for an already located folder — so no caller (and no CLI command)
/// has its own idea of what `--model` may name.
public protocol CheckpointLoadable {
    /// Which files of a Hub repository the model reads, so only those are fetched.
    static var files: ModelFiles { get }
    /// Builds the model from a located folder.
    init(checkpoint: Checkpoint) throws
}

extension CheckpointLoadable {
    public static var files: ModelFiles { .model }

    /// Opens a model folder, or a Hub id `ORG/NAME[@REVISION]` found in (or downloaded into)
    /// the Hugging Face cache: `try CLIP(model: "openai/clip-vit-base-patch32")`. An existing
    /// path always wins over a Hub id of the same spelling (see `ModelLocator`).
    /// `precision` chooses the number format of its linear layers (`Precision`; fp32 by default).
    public init(model: String, precision: Precision = .fp32, environment: HubEnvironment = HubEnvironment(),
                progress: DownloadProgressHandler? = nil) throws {
        var checkpoint = try ModelLocator.resolve(model, files: Self.files, environment: environment, progress: progress)
        checkpoint.precision = precision
        try self.init(checkpoint: checkpoint)
    }

    /// Opens a model folder (never a Hub id).
    public init(folder path: String, precision: Precision = .fp32) throws {
        var checkpoint = try Checkpoint(folder: path)
        checkpoint.precision = precision
        try self.init(checkpoint: checkpoint)
    }
}
