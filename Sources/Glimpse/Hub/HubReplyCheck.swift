import Foundation

/// The rules every value a server sends must keep before Glimpse uses it: a value that will
/// name a path is checked against the exact form the Hub uses (a commit is 40 lowercase hex
/// digits, a blob is named by a git sha1 or a sha256), a size is digits and under the limit
/// for its kind of file, and a redirect stays on http(s). Anything else is refused, naming
/// the header and what was expected.
enum HubReplyCheck {
    /// The `X-Repo-Commit` of a reply (of any status), or nil when it has none.
    static func repoCommit(_ reply: HTTPReply, environment: HubEnvironment) throws -> String? {
        guard let value = reply.header("x-repo-commit") else { return nil }
        guard isHex(value, lengths: [40]) else {
            throw HubReplyFailure.refused("the X-Repo-Commit header '\(environment.shown(value))' is not a commit hash (expected 40 lowercase hex digits)")
        }
        return value
    }

    /// The blob name an ETag gives: `W/"…"` and `"…"` unquoted, then a git blob sha1 (40 hex
    /// digits) or an LFS sha256 (64), as the Hub sends.
    static func blobName(_ value: String, header: String, environment: HubEnvironment) throws -> String {
        let etag = normalize(value)
        guard isHex(etag, lengths: [40, 64]) else {
            throw HubReplyFailure.refused("the \(header) header '\(environment.shown(value))' is not a git sha1 or sha256 (expected 40 or 64 lowercase hex digits)")
        }
        return etag
    }

    /// A declared size (`X-Linked-Size`, `Content-Length`): decimal digits, at most `limit`.
    static func size(_ value: String?, header: String, file: String, environment: HubEnvironment) throws -> Int64? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 19, trimmed.utf8.allSatisfy({ (48...57).contains($0) }), let size = Int64(trimmed) else {
            throw HubReplyFailure.refused("the \(header) header '\(environment.shown(value))' is not a size in bytes")
        }
        let (limit, kind) = sizeLimit(for: file)
        guard size <= limit else {
            throw HubReplyFailure.refused("\(header) declares \(size) bytes, more than the limit of \(limit) bytes for \(kind)")
        }
        return size
    }

    /// The most bytes a file of this name may have, and what kind of file that is: the same
    /// limits the loaders apply, so a download never holds what could not be read.
    static func sizeLimit(for file: String) -> (Int64, String) {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        if ["vocab.json", "merges.txt", "tokenizer.json", "vocab.txt"].contains(name) || name.hasSuffix(".txt.gz") || name.hasSuffix(".model") {
            return (Int64(Limits.tokenizerFileBytes), "a tokenizer file")
        }
        if name.hasSuffix(".json") { return (Int64(Limits.configFileBytes), "a JSON configuration file") }
        return (Limits.hubFileBytes, "a weights file")
    }

    /// A file path inside a repository, as given to the Hub and used under the snapshot:
    /// relative, no empty, `.` or `..` segment, no control characters or backslashes.
    static func isRepositoryPath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 1024, !path.hasPrefix("/") else { return false }
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// A redirect to anything but http or https (a `file:` URL, say) is refused.
    static func redirectTarget(_ reply: HTTPReply, environment: HubEnvironment) throws -> URL? {
        guard let target = reply.redirectTarget else {
            if reply.isRedirect {
                throw HubReplyFailure.refused("the Location header '\(environment.shown(reply.header("location") ?? ""))' is not a URL")
            }
            return nil
        }
        guard let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https", target.host != nil else {
            throw HubReplyFailure.refused("the Location header '\(environment.shown(reply.header("location") ?? ""))' is not an http(s) URL")
        }
        return target
    }

    /// `W/"abc"` and `"abc"` → `abc`, as huggingface_hub names blobs.
    static func normalize(_ etag: String) -> String {
        var s = Substring(etag.trimmingCharacters(in: .whitespaces))
        if s.hasPrefix("W/") { s = s.dropFirst(2) }
        return s.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func isHex(_ s: String, lengths: Set<Int>) -> Bool {
        lengths.contains(s.utf8.count) && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
