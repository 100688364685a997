import Crypto
import Foundation

/// Progress of one file's download, for a progress bar.
public struct DownloadProgress: Sendable {
    public let file: String
    public let received: Int64
    /// Nil when the server did not say.
    public let total: Int64?
    public let finished: Bool
}

public typealias DownloadProgressHandler = @Sendable (DownloadProgress) -> Void

/// Downloads one blob into the cache: bytes go to `blobs/<etag>.incomplete`, which survives
/// an interruption so the next attempt (in this run or a later one) asks only for the rest
/// with a Range header; the finished file is size- and (for LFS) sha256-checked and only then
/// renamed to `blobs/<etag>`, so the cache never holds a partial or corrupt blob under its
/// final name.
///
/// The server is not trusted to end the transfer: a file holds at most its declared size,
/// and without one at most the limit for its kind (`HubReplyCheck.sizeLimit`) — more is an
/// error and the partial file is removed. Time is bounded as well as idleness: once
/// `downloadGrace` has passed, the bytes received must average `minimumDownloadRate`, and the
/// whole file must arrive within `downloadDeadline` when one is set.
struct BlobDownload {
    let http: HubHTTP
    let metadata: HubFileMetadata
    let file: String
    let destination: URL
    let progress: DownloadProgressHandler?

    /// Attempts of any kind (redirects, resumes, restarts) for one file.
    static let maxAttempts = 64

    func run() throws {
        let manager = FileManager.default
        let environment = http.environment
        let partial = destination.appendingPathExtension("incomplete")
        do { try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw HubReplyFailure.cacheNotWritable(path: destination.deletingLastPathComponent().path, reason: error.localizedDescription)
        }
        if !manager.fileExists(atPath: partial.path) { _ = manager.createFile(atPath: partial.path, contents: nil) }
        guard let handle = FileHandle(forUpdatingAtPath: partial.path) else {
            throw HubReplyFailure.cacheNotWritable(path: partial.path, reason: "cannot open it for writing")
        }
        defer { try? handle.close() }

        let (limit, kind) = HubReplyCheck.sizeLimit(for: file)
        let state = TransferState(handle: handle, verify: metadata.isLFS, limit: metadata.size ?? limit,
                                  declared: metadata.size != nil, kind: kind)
        do {
            try state.rehashPrefix()
            try transfer(state, environment: environment)
        } catch let failure as HubReplyFailure {
            switch failure {
            case .refused, .corrupt: try? manager.removeItem(at: partial)   // bytes that broke a rule are not resumed
            default: break                                                  // kept, to resume next time
            }
            throw failure
        }
        try finish(state, partial: partial)
    }

    private func transfer(_ state: TransferState, environment: HubEnvironment) throws {
        let pace = Pace(environment: environment)
        var url = metadata.location
        var failures = 0, redirects = 0, restarts = 0
        for _ in 0..<Self.maxAttempts {
            if let reason = pace.overdue(received: state.received) { throw HubReplyFailure.tooSlow(reason) }
            let offset = try state.size()
            if let size = metadata.size, offset == size { return }
            if let size = metadata.size, offset > size { try state.restart(); continue }
            let before = offset
            do {
                let reply = try http.get(url, rangeFrom: offset, accept: { reply in
                    guard (200..<300).contains(reply.status) else { return false }
                    if reply.status == 200, offset > 0 { try state.restart() }   // Range ignored: start over
                    if reply.status == 206, !(reply.header("content-range") ?? "").hasPrefix("bytes \(offset)-") {
                        try state.restart()
                        throw TransportFailure(url: url, reason: "unexpected Content-Range \(environment.shown(reply.header("content-range") ?? "(none)"))")
                    }
                    // A length over what may still come is refused before any byte is read.
                    if let length = try HubReplyCheck.size(reply.header("content-length"), header: "Content-Length", file: file, environment: environment) {
                        try state.admit(length)
                    }
                    return true
                }, onData: { data in
                    try state.append(data)
                    progress?(DownloadProgress(file: file, received: state.written, total: metadata.size, finished: false))
                }, overdue: { pace.overdue(received: state.received) })
                if let target = try HubReplyCheck.redirectTarget(reply, environment: environment) {
                    redirects += 1
                    guard redirects <= 10 else { throw HubReplyFailure.server("too many redirects downloading \(file)") }
                    url = target
                    continue
                }
                if reply.status == 416 {
                    restarts += 1
                    guard restarts <= 2 else { throw HubReplyFailure.server("HTTP 416 from \(environment.shown(url.absoluteString)) for a download from byte 0") }
                    try state.restart()
                    continue
                }
                guard (200..<300).contains(reply.status) else { throw try HubReplyFailure.from(reply, environment: environment) }
                let received = try state.size()
                if let expected = metadata.size, received < expected {
                    throw TransportFailure(url: url, reason: "connection closed after \(received) of \(expected) bytes")
                }
                return
            } catch let overdue as TransferOverdue {
                throw HubReplyFailure.tooSlow(overdue.reason)
            } catch let failure as TransportFailure {
                if try state.size() > before { failures = 0 }
                failures += 1
                guard failures <= environment.downloadRetries else {
                    throw HubReplyFailure.unreachable("download of \(file) failed after \(failures) attempts: \(environment.shown(failure.reason))")
                }
                Thread.sleep(forTimeInterval: environment.retryDelay)
            }
        }
        throw HubReplyFailure.server("download of \(file) gave up after \(Self.maxAttempts) attempts")
    }

    private func finish(_ state: TransferState, partial: URL) throws {
        let size = try state.size()
        if let expected = metadata.size, size != expected {
            try? FileManager.default.removeItem(at: partial)
            throw HubReplyFailure.corrupt("downloaded \(size) bytes, expected \(expected); the partial file was removed, try again")
        }
        if let digest = state.digest(), digest != metadata.etag {
            try? FileManager.default.removeItem(at: partial)
            throw HubReplyFailure.corrupt("checksum mismatch (sha256 \(digest), expected \(metadata.etag)); the download was discarded")
        }
        try state.handle.synchronize()
        let mask = umask(0); umask(mask)
        chmod(partial.path, 0o666 & ~mask)
        guard rename(partial.path, destination.path) == 0 else {
            throw HubReplyFailure.cacheNotWritable(path: destination.path, reason: "cannot move \(partial.path) there: \(String(cString: strerror(errno)))")
        }
        progress?(DownloadProgress(file: file, received: size, total: metadata.size, finished: true))
    }
}

/// The time rule of one file's download: after `downloadGrace` seconds, the bytes received
/// in this run must average `minimumDownloadRate`; and all must be done by `downloadDeadline`.
private struct Pace: Sendable {
    let start = Date()
    let environment: HubEnvironment

    /// Why the download must stop now, or nil.
    func overdue(received: Int64) -> String? {
        let elapsed = Date().timeIntervalSince(start)
        if let deadline = environment.downloadDeadline, elapsed > deadline {
            return "took longer than GLIMPSE_HUB_DOWNLOAD_DEADLINE (\(deadline) s) with \(received) bytes received"
        }
        let rate = environment.minimumDownloadRate
        guard rate > 0, elapsed > environment.downloadGrace, Double(received) < rate * elapsed else { return nil }
        return String(format: "averaged %.0f bytes/s over %.0f s, below the minimum of %.0f bytes/s (GLIMPSE_HUB_MIN_RATE)",
                      Double(received) / elapsed, elapsed, rate)
    }
}

/// The partial file and a running sha256 of exactly the bytes in it.
/// The file may never grow past `limit`: the declared size, or the cap for its kind.
private final class TransferState: @unchecked Sendable {
    let handle: FileHandle
    private var hasher: SHA256?
    private let lock = NSLock()
    private(set) var written: Int64 = 0
    private var _received: Int64 = 0
    let limit: Int64
    let declared: Bool
    let kind: String

    init(handle: FileHandle, verify: Bool, limit: Int64, declared: Bool, kind: String) {
        self.handle = handle
        hasher = verify ? SHA256() : nil
        self.limit = limit
        self.declared = declared
        self.kind = kind
    }

    /// Bytes received in this run (what the rate rule counts), safe to read from the watch thread.
    var received: Int64 { lock.withLock { _received } }

    private func tooLarge(_ size: Int64) -> HubReplyFailure {
        declared ? .refused("the server sent more than the \(limit) bytes it declared")
            : .refused("no size was declared and the file passed \(limit) bytes, the limit for \(kind); the download was discarded")
    }

    /// Refuses a reply whose Content-Length cannot fit.
    func admit(_ length: Int64) throws {
        let (total, overflow) = written.addingReportingOverflow(length)
        guard !overflow, total <= limit else {
            throw declared ? HubReplyFailure.refused("Content-Length \(length) from byte \(written) exceeds the declared size of \(limit) bytes")
                : HubReplyFailure.refused("Content-Length \(length) exceeds the limit of \(limit) bytes for \(kind)")
        }
    }

    func size() throws -> Int64 { Int64(try handle.seekToEnd()) }

    /// Hashes what an earlier, interrupted run left, so resuming still checks the whole file.
    func rehashPrefix() throws {
        written = try size()
        guard hasher != nil else { return }
        hasher = SHA256()
        try handle.seek(toOffset: 0)
        while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { hasher?.update(data: chunk) }
        _ = try handle.seekToEnd()
    }

    func restart() throws {
        try handle.truncate(atOffset: 0)
        if hasher != nil { hasher = SHA256() }
        written = 0
    }

    func append(_ data: Data) throws {
        let (total, overflow) = written.addingReportingOverflow(Int64(data.count))
        guard !overflow, total <= limit else { throw tooLarge(total) }
        try handle.write(contentsOf: data)
        hasher?.update(data: data)
        written = total
        lock.withLock { _received += Int64(data.count) }
    }

    func digest() -> String? {
        hasher.map { $0.finalize().map { String(format: "%02x", $0) }.joined() }
    }
}
