import Foundation

/// A model repository on the Hub, `ORG/NAME`, at a revision: a branch or tag (`main` by
/// default) or a 40-character commit hash. Written `ORG/NAME@REVISION`.
public struct HubModelID: Hashable, Sendable, CustomStringConvertible {
    public let repo: String
    public let revision: String

    public init(repo: String, revision: String = "main") throws {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy(Self.isValidName) else {
            throw GlimpseError.invalidArgument("'\(repo)' is not a Hub model id: expected ORG/NAME (letters, digits, '-', '_', '.')")
        }
        guard revision.utf8.count <= 256, HubReplyCheck.isRepositoryPath(revision) else {
            throw GlimpseError.invalidArgument("'\(revision)' is not a revision: expected a branch, tag or commit hash")
        }
        self.repo = repo
        self.revision = revision
    }

    /// Parses `ORG/NAME` or `ORG/NAME@REVISION`; nil when `spec` does not have that form.
    public init?(parsing spec: String) {
        let pieces = spec.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let revision = pieces.count == 2 ? String(pieces[1]) : "main"
        guard let id = try? HubModelID(repo: String(pieces[0]), revision: revision) else { return nil }
        self = id
    }

    /// Whether the revision is a full commit hash, so a cached snapshot of it can never go stale.
    public var isCommitHash: Bool { Self.isCommitHash(revision) }

    /// The cache folder name `huggingface_hub` uses: `models--ORG--NAME`.
    public var cacheFolderName: String { "models--" + repo.replacingOccurrences(of: "/", with: "--") }

    public var description: String { revision == "main" ? repo : "\(repo)@\(revision)" }

    static func isCommitHash(_ s: String) -> Bool {
        HubReplyCheck.isHex(s, lengths: [40])
    }

    private static func isValidName(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 96 && !s.hasPrefix(".") && !s.hasPrefix("-") && !s.contains("--") && !s.contains("..")
            && s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
    }
}
