import Foundation
import GlimpseBase

/// How `glimpse serve` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    /// Loopback by default: a model server is not put on a network by accident.
    public var host = "127.0.0.1"
    public var port = 8080
    /// When set, every /api request needs `Authorization: Bearer TOKEN`. Required to listen
    /// anywhere but loopback.
    public var token: String?
    /// Largest request body (an uploaded image) accepted; larger ones get 413.
    public var maxUploadBytes = 32 << 20
    /// Requests merged into one forward pass, and requests that may wait for a model before
    /// new ones get 503.
    public var batchSize = 16
    public var queueCapacity = 64

    public init() {}

    /// Whether `host` names a loopback address (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Refuses settings that would be unsafe or cannot work.
    public func validate() throws {
        guard (0 ... 65535).contains(port) else { throw GlimpseError.invalidArgument("--port must be in 0...65535, got \(port)") }
        guard (1 ... Limits.imageFileBytes).contains(maxUploadBytes) else {
            throw GlimpseError.invalidArgument("the upload limit must be in 1...\(Limits.imageFileBytes) bytes, got \(maxUploadBytes)")
        }
        guard (1 ... Limits.batchSize).contains(batchSize), (1 ... 100_000).contains(queueCapacity) else {
            throw GlimpseError.invalidArgument("batch size must be in 1...\(Limits.batchSize) and queue capacity in 1...100000")
        }
        if let token, token.count < 16 || token.contains(where: { $0.isWhitespace }) {
            throw GlimpseError.invalidArgument("--token must be at least 16 characters without spaces")
        }
        if !isLoopback && token == nil {
            throw GlimpseError.invalidArgument("listening on \(host) (not loopback) needs --token: anyone who can reach the port could otherwise use the server")
        }
    }
}
