import Foundation

/// What the Hub says about one file before it is downloaded: the commit it belongs to, its
/// ETag (the sha256 of an LFS file, the git blob id otherwise), its size, and where the bytes are.
struct HubFileMetadata: Sendable {
    let commit: String
    let etag: String
    let size: Int64?
    let location: URL
    /// An LFS file, whose ETag is the sha256 of its contents and is checked after download.
    let isLFS: Bool

    /// `{endpoint}/{repo}/resolve/{revision}/{file}`, the revision percent-encoded whole
    /// (a branch may contain '/') and the file path by segment.
    static func resolveURL(endpoint: String, model: HubModelID, revision: String, file: String) throws -> URL {
        let segment = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let encodedRevision = revision.addingPercentEncoding(withAllowedCharacters: segment) ?? revision
        let encodedFile = file.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: segment) ?? String($0) }
            .joined(separator: "/")
        guard let url = URL(string: "\(endpoint)/\(model.repo)/resolve/\(encodedRevision)/\(encodedFile)") else {
            throw GlimpseError.invalidArgument("HF_ENDPOINT '\(endpoint)' does not make a valid URL")
        }
        return url
    }

    /// HEAD on the resolve URL. Redirects within the same server (a renamed repository, a
    /// relative Location) are followed; a redirect to another host (the CDN) is not — its own
    /// headers carry the metadata. Headers from the first answer that has them win. Every
    /// value that will name a path or bound a download is checked (`HubReplyCheck`).
    static func fetch(_ url: URL, file: String, http: HubHTTP) throws -> HubFileMetadata {
        let environment = http.environment
        var current = url
        var seen: [String: String] = [:]
        for _ in 0..<10 {
            let reply: HTTPReply
            do { reply = try http.head(current) } catch let failure as TransportFailure {
                throw HubReplyFailure.unreachable(environment.shown(failure.reason))
            } catch let overdue as TransferOverdue {
                throw HubReplyFailure.unreachable(overdue.reason)
            }
            _ = try HubReplyCheck.repoCommit(reply, environment: environment)
            guard (200..<400).contains(reply.status) else { throw try HubReplyFailure.from(reply, environment: environment) }
            for key in ["x-repo-commit", "x-linked-etag", "x-linked-size"] where seen[key] == nil {
                seen[key] = reply.header(key)
            }
            if let target = try HubReplyCheck.redirectTarget(reply, environment: environment) {
                if HubHTTP.sameOrigin(current, target) { current = target; continue }
                return try make(seen, reply, location: target, url: url, file: file, environment: environment)
            }
            guard reply.status < 300 else {
                throw HubReplyFailure.server("HTTP \(reply.status) without a Location from \(environment.shown(current.absoluteString))")
            }
            return try make(seen, reply, location: current, url: url, file: file, environment: environment)
        }
        throw HubReplyFailure.server("too many redirects from \(environment.shown(url.absoluteString))")
    }

    private static func make(_ seen: [String: String], _ last: HTTPReply, location: URL, url: URL, file: String,
                             environment: HubEnvironment) throws -> HubFileMetadata {
        guard let commit = seen["x-repo-commit"] else {
            throw HubReplyFailure.server("\(environment.shown(url.absoluteString)) answered without an X-Repo-Commit header; HF_ENDPOINT does not look like a Hugging Face Hub")
        }
        let etag: String
        let linked = seen["x-linked-etag"] != nil
        if let value = seen["x-linked-etag"] {
            etag = try HubReplyCheck.blobName(value, header: "X-Linked-Etag", environment: environment)
        } else if let value = last.header("etag") {
            etag = try HubReplyCheck.blobName(value, header: "ETag", environment: environment)
        } else {
            throw HubReplyFailure.server("\(environment.shown(url.absoluteString)) answered without an ETag")
        }
        let size = try HubReplyCheck.size(seen["x-linked-size"], header: "X-Linked-Size", file: file, environment: environment)
            ?? (last.isRedirect ? nil : try HubReplyCheck.size(last.header("content-length"), header: "Content-Length", file: file, environment: environment))
        return HubFileMetadata(commit: commit, etag: etag, size: size, location: location,
                               isLFS: linked && etag.utf8.count == 64)
    }
}
