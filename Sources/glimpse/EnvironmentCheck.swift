import Foundation
import Glimpse

/// The Hugging Face variables `HubEnvironment` reads, checked before a command runs: it
/// would otherwise take an unreadable timeout as the default and an unknown offline value as
/// "online", silently. Paths and tokens are taken as they are.
enum EnvironmentCheck {
    /// Longest timeout accepted, in seconds (a day).
    static let maxTimeout = 86_400.0

    static func hub(_ environment: [String: String]) throws {
        func value(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return v
        }
        let switches: Set<String> = ["1", "0", "ON", "OFF", "YES", "NO", "TRUE", "FALSE"]
        for key in ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"] {
            if let text = value(key), !switches.contains(text.uppercased()) {
                throw GlimpseError.invalidArgument("\(key) must be 1, ON, YES or TRUE (offline) or 0, OFF, NO or FALSE, found '\(text)'")
            }
        }
        for key in ["HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"] {
            if let text = value(key) {
                guard let seconds = Double(text), seconds > 0, seconds <= maxTimeout else {
                    throw GlimpseError.invalidArgument("\(key) must be a number of seconds above 0 and at most \(Int(maxTimeout)), found '\(text)'")
                }
            }
        }
        if let endpoint = value("HF_ENDPOINT") {
            guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let host = url.host, !host.isEmpty else {
                throw GlimpseError.invalidArgument("HF_ENDPOINT must be an http:// or https:// address, found '\(endpoint)'")
            }
        }
    }
}
