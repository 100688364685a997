import Foundation
import Glimpse

/// A model a library depends on (the CLIP model of its embeddings, the BLIP model of its
/// captions), known by what the user typed and by its files: `fingerprint` decides whether
/// two are the same model; `id` and `revision` are for messages and for finding it again.
public protocol ModelIdentity {
    /// What the user typed: a folder path (made absolute) or a Hub id `ORG/NAME`.
    var id: String { get }
    /// The Hub commit of the snapshot, or nil for a local folder.
    var revision: String? { get }
    var fingerprint: String { get }
}

extension ModelIdentity {
    /// The Hub id at its revision, or the folder.
    public var locator: String {
        if let revision { return "\(id)@\(revision)" }
        return id
    }

    var describe: String { revision.map { "\(id) at revision \($0)" } ?? id }

    /// The id, revision and fingerprint of a model typed as `spec` and loaded from `folder`.
    static func identify(spec: String, folder: URL) throws -> (id: String, revision: String?, fingerprint: String) {
        let path = folder.standardizedFileURL.path
        let fingerprint = try ModelFingerprint.of(folder: path)
        if let hub = ModelLocator.hubModel(spec) {
            // Hub snapshots live in .../snapshots/COMMIT/.
            return (hub.repo, (path as NSString).lastPathComponent, fingerprint)
        }
        return (URL(fileURLWithPath: spec).standardizedFileURL.path, nil, fingerprint)
    }
}
