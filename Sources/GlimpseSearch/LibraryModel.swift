import Foundation
import Glimpse

/// The model a library's embeddings come from. Embeddings of two models live in different
/// spaces, so a library built with one refuses another: `fingerprint` decides, `id` and
/// `revision` are what the user typed and what the Hub resolved it to, for messages and for
/// finding the model again when `search` is given no `--model`.
public struct LibraryModel: ModelIdentity, Equatable, Sendable, Codable {
    /// What `--model` said: a folder path (made absolute) or a Hub id `ORG/NAME`.
    public var id: String
    /// The Hub commit of the snapshot, or nil for a local folder.
    public var revision: String?
    /// SHA-256 over the model's configuration and weights files (their names and sizes and
    /// their first and last MiB), so a copied or moved folder, or a Hub snapshot and a
    /// download of it, count as the same model, and a re-trained one of the same shape does not.
    public var fingerprint: String
    /// Width of the embeddings.
    public var dimension: Int

    public init(id: String, revision: String?, fingerprint: String, dimension: Int) {
        self.id = id
        self.revision = revision
        self.fingerprint = fingerprint
        self.dimension = dimension
    }

    /// The identity of `clip`, loaded from `spec` (what the user typed after `--model`).
    public init(spec: String, clip: CLIP) throws {
        (id, revision, fingerprint) = try Self.identify(spec: spec, folder: clip.checkpoint.folder)
        dimension = clip.model.embeddingDim
    }

    /// The fingerprint of the model files in `folder` (see `ModelFingerprint`).
    public static func fingerprint(folder: String) throws -> String { try ModelFingerprint.of(folder: folder) }

    /// Throws unless `other` is this model (same fingerprint and dimension).
    public func requireSame(_ other: LibraryModel, library: String) throws {
        guard other.fingerprint != fingerprint || other.dimension != dimension else { return }
        throw GlimpseError.invalidArgument(
            "the library \(library) was built with the model \(describe) (\(dimension)-dimensional embeddings); "
            + "\(other.describe) (\(other.dimension)-dimensional) is a different model, and embeddings of two models cannot be compared. "
            + "Use \(locator), or index into a new library")
    }
}
