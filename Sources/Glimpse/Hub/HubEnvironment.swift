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
    /// Seconds a metadata (HEAD) exchange may take in all (`HF_HUB_ETAG_TIMEOUT`).
    public var metadataTimeout: Double
    /// Seconds a download may go without receiving a byte before it is resumed (`HF_HUB_DOWNLOAD_TIMEOUT`).
    public var downloadTimeout: Double
    /// Bytes per second a download must average, counted from its start once `downloadGrace`
    /// seconds have passed (`GLIMPSE_HUB_MIN_RATE`; 0 turns the rule off). This bounds a
    /// file's download to about max(grace, size / rate) seconds however the server trickles.
    public var minimumDownloadRate: Double
    /// Seconds before the minimum rate applies (connection set-up, a slow start).
    public var downloadGrace: Double
    /// Seconds one file's download may take in all, resumes included (`GLIMPSE_HUB_DOWNLOAD_DEADLINE`); nil: no deadline but the rate.
    public var downloadDeadline: Double?
    /// Attempts to resume a download that broke off before giving up (reset whenever bytes arrive).
    public var downloadRetries: Int
    /// Pause before resuming a broken download.
    public var retryDelay: Double

    public static let defaultEndpoint = "https://huggingface.co"

    public init(cache: URL, endpoint: String = HubEnvironment.defaultEndpoint, token: String? = nil,
                offline: Bool = false, metadataTimeout: Double = 10, downloadTimeout: Double = 10,
                downloadRetries: Int = 5, retryDelay: Double = 1, minimumDownloadRate: Double = 8192,
                downloadGrace: Double = 30, downloadDeadline: Double? = nil) {
        self.cache = cache
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.token = token
        self.offline = offline
        self.metadataTimeout = metadataTimeout
        self.downloadTimeout = downloadTimeout
        self.downloadRetries = downloadRetries
        self.retryDelay = retryDelay
        self.minimumDownloadRate = minimumDownloadRate
        self.downloadGrace = downloadGrace
        self.downloadDeadline = downloadDeadline
    }

    /// The settings `huggingface_hub` would use with these variables:
    /// cache `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`; endpoint `HF_ENDPOINT`;
    /// token `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `HF_TOKEN_PATH` or
    /// `$HF_HOME/token` that `hf auth login` writes; offline `HF_HUB_OFFLINE` (or
    /// `TRANSFORMERS_OFFLINE`) set to 1/ON/YES/TRUE; timeouts `HF_HUB_ETAG_TIMEOUT`, `HF_HUB_DOWNLOAD_TIMEOUT`;
    /// Glimpse's own `GLIMPSE_HUB_MIN_RATE` (bytes/s) and `GLIMPSE_HUB_DOWNLOAD_DEADLINE` (seconds).
    /// A value that is not a number is reported when the Hub is first used (see `validate`).
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
            token = try? InputFile.text(file.path, what: "token file", limit: 64 << 10)
        }
        token = token?.trimmingCharacters(in: .whitespacesAndNewlines)
        if token?.isEmpty == true { token = nil }

        var invalid: [String] = []
        func number(_ key: String, default fallback: Double?) -> Double? {
            guard let text = value(key) else { return fallback }
            let isRate = key.hasSuffix("RATE")
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite, number >= 0,
                  isRate || number <= Self.longestTimeout else {
                invalid.append(isRate ? "\(key) must be a number of bytes per second, found '\(text.prefix(40))'"
                               : "\(key) must be a number of seconds above 0 and at most \(Int(Self.longestTimeout)), found '\(text.prefix(40))'")
                return fallback
            }
            return number
        }

        // As huggingface_hub reads them, except that a word that is neither yes nor no is an
        // error rather than "online".
        let truthy: Set<String> = ["1", "ON", "YES", "TRUE"], falsy: Set<String> = ["0", "OFF", "NO", "FALSE"]
        for key in ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"] {
            if let text = value(key), !truthy.union(falsy).contains(text.uppercased()) {
                invalid.append("\(key) must be 1, ON, YES or TRUE (offline) or 0, OFF, NO or FALSE, found '\(text.prefix(40))'")
            }
        }
        let offline = (value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE")).map { truthy.contains($0.uppercased()) } ?? false
        if let endpoint = value("HF_ENDPOINT") {
            let url = URL(string: endpoint)
            if !["http", "https"].contains(url?.scheme?.lowercased() ?? "") || url?.host?.isEmpty != false {
                invalid.append("HF_ENDPOINT must be an http:// or https:// address, found '\(endpoint.prefix(80))'")
            }
        }
        self.init(cache: cache, endpoint: value("HF_ENDPOINT") ?? Self.defaultEndpoint, token: token, offline: offline,
                  metadataTimeout: number("HF_HUB_ETAG_TIMEOUT", default: 10) ?? 10,
                  downloadTimeout: number("HF_HUB_DOWNLOAD_TIMEOUT", default: 10) ?? 10,
                  minimumDownloadRate: number("GLIMPSE_HUB_MIN_RATE", default: 8192) ?? 8192,
                  downloadDeadline: number("GLIMPSE_HUB_DOWNLOAD_DEADLINE", default: nil))
        invalidSettings = invalid
    }

    /// Longest timeout accepted, in seconds (a day).
    public static let longestTimeout = 86_400.0

    /// Environment variables whose values cannot be used, each described.
    var invalidSettings: [String] = []

    /// Throws for settings no download can work with, naming the variable. Downloads call it;
    /// a front end may call it up front, so a bad variable is reported before any work.
    public func validate() throws {
        if let first = invalidSettings.first { throw GlimpseError.invalidArgument(first) }
        for (name, value) in [("HF_HUB_ETAG_TIMEOUT", metadataTimeout), ("HF_HUB_DOWNLOAD_TIMEOUT", downloadTimeout),
                              ("GLIMPSE_HUB_DOWNLOAD_DEADLINE", downloadDeadline ?? 1)] where !(value.isFinite && value > 0) {
            throw GlimpseError.invalidArgument("\(name) must be a positive number of seconds, not \(value)")
        }
        guard minimumDownloadRate.isFinite, minimumDownloadRate >= 0, downloadGrace.isFinite, downloadGrace >= 0,
              retryDelay.isFinite, retryDelay >= 0, downloadRetries >= 0 else {
            throw GlimpseError.invalidArgument("GLIMPSE_HUB_MIN_RATE, the grace period, retries and retry delay must be finite and not negative")
        }
    }

    /// A server-given text (or any text that might hold one) made fit for an error message:
    /// the token masked wherever it appears, control characters escaped, at most 200 characters.
    func shown(_ text: String) -> String {
        var text = text
        if let token, !token.isEmpty { text = text.replacingOccurrences(of: token, with: "***") }
        var out = ""
        for scalar in text.unicodeScalars {
            if out.unicodeScalars.count >= 200 { out += "…"; break }
            if scalar.value < 0x20 || scalar.value == 0x7F { out += String(format: "\\x%02x", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
