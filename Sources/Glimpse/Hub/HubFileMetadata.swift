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
    /// headers carry the metadata. Headers from the first answer that has them win.
    static func fetch(_ url: URL, http: HubHTTP) throws -> HubFileMetadata {
        var current = url
        var seen: [String: String] = [:]
        for _ in 0..<10 {
            let reply: HTTPReply
            do { reply = try http.head(current) } catch let failure as TransportFailure {
                throw HubFailure.unreachable(failure.reason)
            }
            guard (200..<400).contains(reply.status) else { throw HubFailure.from(reply) }
            for key in ["x-repo-commit", "x-linked-etag", "x-linked-size"] where seen[key] == nil {
                seen[key] = reply.header(key)
            }
            if let target = reply.redirectTarget {
                if HubHTTP.sameOrigin(current, target) { current = target; continue }
                return try make(seen, reply, location: target, url: url)
            }
            guard reply.status < 300 else { throw HubFailure.server("HTTP \(reply.status) without a Location from \(current.absoluteString)") }
            return try make(seen, reply, location: current, url: url)
        }
        throw HubFailure.server("too many redirects from \(url.absoluteString)")
    }

    private static func make(_ seen: [String: String], _ last: HTTPReply, location: URL, url: URL) throws -> HubFileMetadata {
        guard let commit = seen["x-repo-commit"], !commit.isEmpty else {
            throw HubFailure.server("\(url.absoluteString) answered without an X-Repo-Commit header; HF_ENDPOINT does not look like a Hugging Face Hub")
        }
        let linked = seen["x-linked-etag"].map(normalize)
        guard let etag = linked ?? last.header("etag").map(normalize), !etag.isEmpty,
              !etag.contains("/"), etag != ".", etag != ".." else {
            throw HubFailure.server("\(url.absoluteString) answered without a usable ETag")
        }
        let size = seen["x-linked-size"].flatMap { Int64($0) }
            ?? (last.isRedirect ? nil : last.header("content-length").flatMap { Int64($0) })
        return HubFileMetadata(commit: commit, etag: etag, size: size, location: location,
                               isLFS: linked != nil && isSHA256(etag))
    }

    /// `W/"abc"` and `"abc"` → `abc`, as huggingface_hub names blobs.
    static func normalize(_ etag: String) -> String {
        var s = Substring(etag.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("W/") { s = s.dropFirst(2) }
        return s.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
