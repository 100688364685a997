/// Why a Hugging Face Hub model could not be found, reached or downloaded, as a case a
/// library user can act on (ask for a token, accept a model's terms, go online, retry),
/// with the message the command line prints as its description.
public struct HubFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The repository is gated (the Hub said `GatedRepo`): its terms must be accepted on
        /// its page, and a token with access sent.
        case gated(status: Int, tokenSent: Bool, serverMessage: String)
        /// 401 or 403 without more: a private repository, one that does not exist (the Hub
        /// does not tell which to a caller without access), or a token without access.
        case unauthorized(status: Int, tokenSent: Bool, serverMessage: String)
        case repositoryNotFound(endpoint: String)
        /// The branch, tag or commit does not exist in the repository.
        case revisionNotFound(revision: String)
        /// The repository (at `commit`, when known) has no such file.
        case fileNotFound(file: String, commit: String?)
        /// The repository has none of several alternative files (e.g. any weights format).
        case noneOfAlternatives(listing: String)
        /// Only the cache could be used (`HF_HUB_OFFLINE`) and it lacks the model (`file` nil)
        /// or one of its files; `location` is the cache or snapshot folder looked in.
        case notCached(file: String?, location: String)
        /// The Hub could not be reached, or a transfer kept breaking off, and the cache lacks the file.
        case network(file: String, endpoint: String, detail: String, cache: String)
        /// A download stayed below the minimum average rate, or ran past its deadline.
        case tooSlow(file: String, detail: String)
        /// An error status the Hub gives no meaning to (5xx, 429, …), and the cache lacks the file.
        case server(file: String, detail: String, cache: String)
        /// The branch moved to another commit while its files were being fetched.
        case revisionMoved(file: String, commit: String, expected: String)
        /// The bytes received are not the ones announced (size or sha256); they were discarded.
        case corrupt(file: String, detail: String)
        /// The answer breaks a rule every reply must keep (a header that is not what the Hub
        /// sends, a file over its size limit, more bytes than declared); nothing was kept.
        case refused(file: String, detail: String)
        /// The cache folder could not be written.
        case cacheNotWritable(path: String, detail: String)
    }

    /// The model as the user wrote it, `ORG/NAME[@REVISION]`.
    public let model: String
    public let reason: Reason
    /// Said after the reason, e.g. that no local folder of that name exists either.
    public var note: String?

    public init(model: String, reason: Reason, note: String? = nil) {
        self.model = model
        self.reason = reason
        self.note = note
    }

    /// No such repository, revision or file: asking again will not help.
    public var isNotFound: Bool {
        switch reason {
        case .repositoryNotFound, .revisionNotFound, .fileNotFound, .noneOfAlternatives: return true
        default: return false
        }
    }

    public var description: String { message + (note.map { "; \($0)" } ?? "") }

    private var message: String {
        switch reason {
        case let .gated(status, tokenSent, server):
            let hint = tokenSent
                ? "the token in HF_TOKEN has no access to it yet (accept the model's terms on its Hub page, or use another token)"
                : "accept the model's terms on its Hub page and set HF_TOKEN to a token of that account"
            return "\(model): repository is gated (HTTP \(status)) — \(hint)" + Self.server(server)
        case let .unauthorized(status, tokenSent, server):
            let hint = tokenSent
                ? "the token in HF_TOKEN has no access to it (accept the model's terms on its Hub page, or use another token)"
                : "set HF_TOKEN to a token that has access (and accept the model's terms on its Hub page)"
            return "\(model): repository is gated or private, or does not exist (HTTP \(status)) — \(hint)" + Self.server(server)
        case let .repositoryNotFound(endpoint):
            return "\(model): no such repository on \(endpoint) (if it is private, set HF_TOKEN)"
        case let .revisionNotFound(revision):
            return "\(model): revision '\(revision)' not found (expected a branch, tag or commit hash)"
        case let .fileNotFound(file, commit):
            return "\(model): the repository has no \(file)" + (commit.map { " (at commit \($0))" } ?? "")
                + (file == "config.json" ? "; is it a model in the Hugging Face layout?" : "")
        case let .noneOfAlternatives(listing):
            return "\(model): the repository has none of the \(listing) files"
        case let .notCached(nil, location):
            return "\(model) is not in the cache \(location) and HF_HUB_OFFLINE is set (no download attempted); run once without HF_HUB_OFFLINE, or set HF_HUB_CACHE/HF_HOME to the cache that has it"
        case let .notCached(file?, location):
            return "\(model): \(file) is not in the cache \(location) and HF_HUB_OFFLINE is set (no download attempted)"
        case let .network(file, endpoint, detail, cache):
            return "\(model): cannot reach \(endpoint) to fetch \(file) (\(detail)), and it is not in the cache \(cache); check the connection or HF_ENDPOINT"
        case let .tooSlow(file, detail):
            return "\(model): downloading \(file) \(detail); the partial download is kept and resumed next time"
        case let .server(file, detail, cache):
            return "\(model): \(detail); \(file) is not in the cache \(cache)"
        case let .revisionMoved(file, commit, expected):
            return "\(model): \(file) came from commit \(commit), expected \(expected); the revision moved during the download, try again"
        case let .corrupt(file, detail):
            return "\(model): \(file): \(detail)"
        case let .refused(file, detail):
            return "\(model): refused the Hub's answer for \(file): \(detail)"
        case let .cacheNotWritable(path, detail):
            return "\(model): cannot write the cache at \(path): \(detail)"
        }
    }

    private static func server(_ message: String) -> String { message.isEmpty ? "" : ". Server: \(message)" }
}
