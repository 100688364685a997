import Foundation

/// What went wrong in one exchange with the Hub, before it is put in terms of a model and a
/// file. The snapshot decides from the case whether the cache may stand in (the network or
/// the server failed) or the answer is final (no such file, revision or repository).
enum HubReplyFailure: Error {
    /// No answer: refused, timed out, or broken off.
    case unreachable(String)
    /// 401/403; `gated` when the Hub said `GatedRepo`.
    case denied(status: Int, gated: Bool, message: String)
    case repositoryNotFound
    case revisionNotFound
    /// The repository and revision exist but not the file; the (validated) commit comes with the answer.
    case entryNotFound(commit: String?)
    /// Any other status (5xx, 429, or an answer that does not look like the Hub's).
    case server(String)
    /// An answer that breaks a rule every reply must keep (see `HubReplyCheck`).
    case refused(String)
    /// Below the minimum average rate, or past the deadline.
    case tooSlow(String)
    /// Size or checksum not as announced.
    case corrupt(String)
    /// The cache could not be written.
    case cacheNotWritable(path: String, reason: String)

    /// Sorts an error answer the way huggingface_hub reads `X-Error-Code`. A malformed
    /// `X-Repo-Commit` is refused here too: even a 404 may not name a path.
    static func from(_ reply: HTTPReply, environment: HubEnvironment) throws -> HubReplyFailure {
        let commit = try HubReplyCheck.repoCommit(reply, environment: environment)
        let code = reply.header("x-error-code")
        let message = environment.shown(reply.header("x-error-message") ?? reply.errorBody.trimmingCharacters(in: .whitespacesAndNewlines))
        switch (reply.status, code) {
        case (_, "RevisionNotFound"): return .revisionNotFound
        case (_, "EntryNotFound"): return .entryNotFound(commit: commit)
        case (_, "GatedRepo"): return .denied(status: reply.status, gated: true, message: message)
        case (_, "RepoNotFound") where reply.status == 404: return .repositoryNotFound
        case (401, _), (403, _): return .denied(status: reply.status, gated: false, message: message)
        case (404, _): return .entryNotFound(commit: commit)
        default:
            return .server("HTTP \(reply.status) from \(environment.shown(reply.url.absoluteString))" + (message.isEmpty ? "" : ": \(message)"))
        }
    }

    /// Whether a cached copy may be used instead (as huggingface_hub does for connection
    /// errors, server errors and 401/403 answers; a refused answer is no better).
    var allowsCacheFallback: Bool {
        switch self {
        case .unreachable, .server, .denied, .refused, .tooSlow: return true
        case .repositoryNotFound, .revisionNotFound, .entryNotFound, .corrupt, .cacheNotWritable: return false
        }
    }

    func failure(model: HubModelID, file: String, environment: HubEnvironment) -> HubFailure {
        let reason: HubFailure.Reason
        switch self {
        case .unreachable(let detail):
            reason = .network(file: file, endpoint: environment.endpoint, detail: detail, cache: environment.cache.path)
        case let .denied(status, gated, message):
            reason = gated ? .gated(status: status, tokenSent: environment.token != nil, serverMessage: message)
                : .unauthorized(status: status, tokenSent: environment.token != nil, serverMessage: message)
        case .repositoryNotFound: reason = .repositoryNotFound(endpoint: environment.endpoint)
        case .revisionNotFound: reason = .revisionNotFound(revision: model.revision)
        case .entryNotFound: reason = .fileNotFound(file: file, commit: nil)
        case .server(let detail): reason = .server(file: file, detail: detail, cache: environment.cache.path)
        case .refused(let detail): reason = .refused(file: file, detail: detail)
        case .tooSlow(let detail): reason = .tooSlow(file: file, detail: detail)
        case .corrupt(let detail): reason = .corrupt(file: file, detail: detail)
        case let .cacheNotWritable(path, detail): reason = .cacheNotWritable(path: path, detail: detail)
        }
        return HubFailure(model: model.description, reason: reason)
    }

    func error(model: HubModelID, file: String, environment: HubEnvironment) -> GlimpseError {
        .hub(failure(model: model, file: file, environment: environment))
    }
}
