import Foundation
import Glimpse

/// The BLIP model a library's captions come from. Captions of two models are different
/// texts for the same photo, so a captioned library refuses another captioning model the way
/// it refuses another CLIP model: `fingerprint` decides (see `LibraryModel.fingerprint`),
/// `id` and `revision` are what the user typed and what the Hub resolved it to.
public struct CaptionModel: ModelIdentity, Equatable, Sendable {
    /// What `--captions` said: a folder path (made absolute) or a Hub id `ORG/NAME`.
    public var id: String
    /// The Hub commit of the snapshot, or nil for a local folder.
    public var revision: String?
    public var fingerprint: String

    public init(id: String, revision: String?, fingerprint: String) {
        self.id = id
        self.revision = revision
        self.fingerprint = fingerprint
    }

    /// The identity of `captioner`, loaded from `spec` (what the user typed after `--captions`).
    public init(spec: String, captioner: BLIPCaptioner) throws {
        (id, revision, fingerprint) = try Self.identify(spec: spec, folder: captioner.checkpoint.folder)
    }

    /// Throws unless `other` is this model (same fingerprint).
    public func requireSame(_ other: CaptionModel, library: String) throws {
        guard other.fingerprint != fingerprint else { return }
        throw GlimpseError.invalidArgument(
            "the library \(library) was captioned with the model \(describe); \(other.describe) is a different captioning model, "
            + "and captions of two models would not be searched alike. Use --captions \(locator), or index into a new library")
    }
}
