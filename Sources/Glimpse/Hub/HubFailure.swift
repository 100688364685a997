import Foundation

/// Why the Hub did not hand over a file. The locator decides from the case whether the cache
/// may stand in (the network or the server failed) or the answer is final (no such file,
/// revision or repository).
enum HubFailure: Error {
    /// No answer: refused, timed out, or broken off.
    case unreachable(String)
    /// 401/403: gated or private, or (401 without a token) the repository does not exist.
    case denied(status: Int, message: String)
    case repositoryNotFound(String)
    case revisionNotFound(String)
    /// The repository and revision exist but not the file; the commit comes with the answer.
    case entryNotFound(commit: String?)
    /// Any other status (5xx, 429, or an answer that does not look like the Hub's).
    case server(String)

    /// Sorts an error answer the way huggingface_hub reads `X-Error-Code`.
    static func from(_ reply: HTTPReply) -> HubFailure {
        let code = reply.header("x-error-code")
        let message = reply.header("x-error-message") ?? reply.errorBody.trimmingCharacters(in: .whitespacesAndNewlines)
        switch (reply.status, code) {
        case (_, "RevisionNotFound"): return .revisionNotFound(message)
        case (_, "EntryNotFound"): return .entryNotFound(commit: reply.header("x-repo-commit"))
        case (_, "GatedRepo"): return .denied(status: reply.status, message: message)
        case (_, "RepoNotFound") where reply.status == 404: return .repositoryNotFound(message)
        case (401, _), (403, _): return .denied(status: reply.status, message: message)
        case (404, _): return .entryNotFound(commit: reply.header("x-repo-commit"))
        default: return .server("HTTP \(reply.status) from \(reply.url.absoluteString)" + (message.isEmpty ? "" : ": \(message.prefix(200))"))
        }
    }

    /// Whether a cached copy may be used instead (as huggingface_hub does for connection
    /// errors, server errors and 401/403 answers).
    var allowsCacheFallback: Bool {
        switch self {
        case .unreachable, .server, .denied: return true
        case .repositoryNotFound, .revisionNotFound, .entryNotFound: return false
        }
    }

    func error(model: HubModelID, file: String, environment: HubEnvironment) -> GlimpseError {
        switch self {
        case .unreachable(let reason):
            return .hub("\(model): cannot reach \(environment.endpoint) to fetch \(file) (\(reason)), and it is not in the cache \(environment.cache.path); check the connection or HF_ENDPOINT")
        case let .denied(status, message):
            let hint = environment.token == nil
                ? "set HF_TOKEN to a token that has access (and accept the model's terms on its Hub page)"
                : "the token in HF_TOKEN has no access to it (accept the model's terms on its Hub page, or use another token)"
            return .hub("\(model): repository is gated or private, or does not exist (HTTP \(status)) — \(hint)" + (message.isEmpty ? "" : ". Server: \(message.prefix(200))"))
        case .repositoryNotFound:
            return .hub("\(model): no such repository on \(environment.endpoint) (if it is private, set HF_TOKEN)")
        case .revisionNotFound:
            return .hub("\(model): revision '\(model.revision)' not found (expected a branch, tag or commit hash)")
        case .entryNotFound:
            return .hub("\(model): the repository has no \(file)")
        case .server(let message):
            return .hub("\(model): \(message); \(file) is not in the cache \(environment.cache.path)")
        }
    }
}
