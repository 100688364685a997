import Foundation

/// Turns what a user types after `--model` into a model folder: an existing path is used as
/// it is; otherwise `ORG/NAME[@REVISION]` is a Hugging Face Hub model, found in (or downloaded
/// into) the shared Hugging Face cache.
public enum ModelLocator {
    /// The Hub model `spec` names, or nil when it is a local path (an existing path always
    /// wins over a Hub id of the same spelling) or not of the form `ORG/NAME[@REVISION]`.
    public static func hubModel(_ spec: String) -> HubModelID? {
        if FileManager.default.fileExists(atPath: spec) { return nil }
        if spec.hasPrefix(".") || spec.hasPrefix("/") || spec.hasPrefix("~") { return nil }
        return HubModelID(parsing: spec)
    }

    /// The checkpoint for a folder or Hub id. For a Hub id, only `files` are fetched, and
    /// only those missing from the cache; `progress` hears about each download.
    public static func resolve(_ spec: String, files: ModelFiles = .model,
                               environment: HubEnvironment = HubEnvironment(),
                               progress: DownloadProgressHandler? = nil) throws -> Checkpoint {
        guard let model = hubModel(spec) else { return try Checkpoint(folder: spec) }
        do {
            return try resolve(model, files: files, environment: environment, progress: progress)
        } catch GlimpseError.hub(var failure) where !spec.contains("@") {
            // The spec may have been meant as a path: say that was tried too.
            failure.note = "no local folder '\(spec)' exists either"
            throw GlimpseError.hub(failure)
        }
    }

    /// The snapshot folder of a Hub model holding `files`.
    public static func resolve(_ model: HubModelID, files: ModelFiles = .model,
                               environment: HubEnvironment = HubEnvironment(),
                               progress: DownloadProgressHandler? = nil) throws -> Checkpoint {
        let folder = try HubSnapshot(model: model, environment: environment, progress: progress).fetch(files)
        return try Checkpoint(folder: folder.path)
    }
}
