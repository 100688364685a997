import Crypto
import Foundation
import GlimpseBase

/// Which model a set of embeddings came from, from the model's files: what a photo library
/// records and what a bulk embedding job writes into its journal, so that embeddings made on
/// another machine are checked to be of the library's model before they are imported.
public enum ModelFingerprint {
    /// Bytes read from each end of each weights file.
    static let edgeBytes = 1 << 20

    /// SHA-256 over the model's configuration and weights files in `folder` (their names and
    /// sizes and their first and last MiB), sorted by name: a copied or moved folder, or a
    /// Hub snapshot and a download of it, count as the same model, and a re-trained one of
    /// the same shape does not.
    public static func of(folder: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter {
            $0.hasSuffix(".json") || $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth")
        }.sorted()
        var hash = SHA256()
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            guard InputFile.kind(of: path) == .regular, let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            hash.update(data: Data("\(name)\u{0}\(size)\u{0}".utf8))
            try handle.seek(toOffset: 0)
            hash.update(data: try handle.read(upToCount: edgeBytes) ?? Data())
            if size > UInt64(edgeBytes) {
                try handle.seek(toOffset: size - UInt64(edgeBytes))
                hash.update(data: try handle.read(upToCount: edgeBytes) ?? Data())
            }
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The id and revision of a model folder: `ORG/NAME` and the commit for a Hugging Face
    /// cache snapshot (`…/models--ORG--NAME/snapshots/COMMIT`), else the absolute path and nil.
    public static func identity(folder: String) -> (id: String, revision: String?) {
        let path = URL(fileURLWithPath: folder).standardizedFileURL.path
        let parts = path.split(separator: "/").map(String.init)
        if parts.count >= 3, parts[parts.count - 2] == "snapshots", parts[parts.count - 3].hasPrefix("models--") {
            let name = parts[parts.count - 3].dropFirst("models--".count).components(separatedBy: "--")
            if name.count == 2, name.allSatisfy({ !$0.isEmpty }) { return (name.joined(separator: "/"), parts[parts.count - 1]) }
        }
        return (path, nil)
    }
}
