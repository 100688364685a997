import Foundation

/// Where the Hugging Face cache is, which server to ask, with which token, and whether the
/// network may be used — read from the same environment variables as `huggingface_hub`, so
/// a cache filled by Python is found and reused as it is.
public struct HubEnvironment: Sendable {
    /// The hub cache folder holding `models--ORG--NAME` repositories.
    public var cache: URL
    /// The server answering `{endpoint}/{repo}/resolve/{revision}/{file}`, without a trailing slash.
    public var endpoint: String
    /// Sent as `Authorization: Bearer` to the endpoint (never to other hosts), for gated and private repos.
    public var token: String?
    /// No network at all: only what the cache holds.
    public var offline: Bool
    /// Seconds to wait for a metadata (HEAD) answer, and between bytes of a download.
    public var metadataTimeout: Double
    public var downloadTimeout: Double
    /// Attempts to resume a download that broke off before giving up (reset whenever bytes arrive).
    public var downloadRetries: Int
    /// Pause before resuming a broken download.
    public var retryDelay: Double

    public static let defaultEndpoint = "https://huggingface.co"

    public init(cache: URL, endpoint: String = HubEnvironment.defaultEndpoint, token: String? = nil,
                offline: Bool = false, metadataTimeout: Double = 10, downloadTimeout: Double = 10,
                downloadRetries: Int = 5, retryDelay: Double = 1) {
        self.cache = cache
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.token = token
        self.offline = offline
        self.metadataTimeout = metadataTimeout
        self.downloadTimeout = downloadTimeout
        self.downloadRetries = downloadRetries
        self.retryDelay = retryDelay
    }

    /// The settings `huggingface_hub` would use with these variables:
    /// cache `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`; endpoint `HF_ENDPOINT`;
    /// token `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `HF_TOKEN_PATH` or
    /// `$HF_HOME/token` that `hf auth login` writes; offline `HF_HUB_OFFLINE` (or
    /// `TRANSFORMERS_OFFLINE`) set to 1/ON/YES/TRUE; timeouts `HF_HUB_ETAG_TIMEOUT`, `HF_HUB_DOWNLOAD_TIMEOUT`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return v
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        func path(_ string: String) -> URL {
            if string == "~" { return home }
            if string.hasPrefix("~/") { return home.appendingPathComponent(String(string.dropFirst(2))) }
            return URL(fileURLWithPath: string)
        }
        let hfHome = value("HF_HOME").map(path)
            ?? (value("XDG_CACHE_HOME").map(path) ?? home.appendingPathComponent(".cache")).appendingPathComponent("huggingface")
        let cache = (value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE")).map(path) ?? hfHome.appendingPathComponent("hub")

        var token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        if token == nil {
            let file = value("HF_TOKEN_PATH").map(path) ?? hfHome.appendingPathComponent("token")
            token = (try? String(contentsOf: file, encoding: .utf8))
        }
        token = token?.trimmingCharacters(in: .whitespacesAndNewlines)
        if token?.isEmpty == true { token = nil }

        let truthy: Set<String> = ["1", "ON", "YES", "TRUE"]
        let offline = (value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE")).map { truthy.contains($0.uppercased()) } ?? false
        self.init(cache: cache, endpoint: value("HF_ENDPOINT") ?? Self.defaultEndpoint, token: token, offline: offline,
                  metadataTimeout: value("HF_HUB_ETAG_TIMEOUT").flatMap(Double.init) ?? 10,
                  downloadTimeout: value("HF_HUB_DOWNLOAD_TIMEOUT").flatMap(Double.init) ?? 10)
    }
}
