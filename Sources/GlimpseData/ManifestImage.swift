import Foundation
import GlimpseBase

/// An image path written in a manifest: relative to the manifest's folder unless absolute,
/// and checked (exists, regular file, within the image size bound) before it becomes a record,
/// so a missing image is reported against its manifest line rather than deep in a job.
enum ManifestImage {
    static func resolve(_ raw: String, folder: String) -> Result<String, ReasonOnly> {
        guard !raw.isEmpty else { return .failure(ReasonOnly("has an empty image path")) }
        guard !raw.utf8.contains(0) else { return .failure(ReasonOnly("has an image path containing a NUL character")) }
        let path = raw.hasPrefix("/") ? raw : (folder as NSString).appendingPathComponent(raw)
        do {
            try InputFile.check(path, what: "image", limit: Limits.imageFileBytes)
        } catch {
            return .failure(ReasonOnly("\(error)"))
        }
        return .success(path)
    }

    /// The folder a manifest's relative paths start from.
    static func folder(of manifest: String) -> String {
        let folder = (manifest as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}
