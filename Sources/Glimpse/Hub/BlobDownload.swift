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
struct BlobDownload {
    let http: HubHTTP
    let metadata: HubFileMetadata
    let file: String
    let destination: URL
    let progress: DownloadProgressHandler?

    func run() throws {
        let manager = FileManager.default
        let partial = destination.appendingPathExtension("incomplete")
        try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !manager.fileExists(atPath: partial.path) { _ = manager.createFile(atPath: partial.path, contents: nil) }
        guard let handle = FileHandle(forUpdatingAtPath: partial.path) else {
            throw GlimpseError.hub("cannot write \(partial.path)")
        }
        defer { try? handle.close() }

        let state = TransferState(handle: handle, verify: metadata.isLFS)
        try state.rehashPrefix()
        var url = metadata.location
        var failures = 0, redirects = 0
        while true {
            let offset = try state.size()
            if let size = metadata.size, offset == size { break }
            if let size = metadata.size, offset > size { try state.restart(); continue }
            let before = offset
            do {
                let reply = try http.get(url, rangeFrom: offset, accept: { reply in
                    guard (200..<300).contains(reply.status) else { return false }
                    if reply.status == 200, offset > 0 { try state.restart() }   // Range ignored: start over
                    if reply.status == 206, !(reply.header("content-range") ?? "").hasPrefix("bytes \(offset)-") {
                        try state.restart()
                        throw TransportFailure(url: url, reason: "unexpected Content-Range \(reply.header("content-range") ?? "(none)")")
                    }
                    return true
                }, onData: { data in
                    try state.append(data)
                    progress?(DownloadProgress(file: file, received: state.written, total: metadata.size, finished: false))
                })
                if let target = reply.redirectTarget {
                    redirects += 1
                    guard redirects <= 10 else { throw HubFailure.server("too many redirects downloading \(file)") }
                    url = target
                    continue
                }
                if reply.status == 416 { try state.restart(); continue }
                guard (200..<300).contains(reply.status) else { throw HubFailure.from(reply) }
                let received = try state.size()
                if let expected = metadata.size, received < expected {
                    throw TransportFailure(url: url, reason: "connection closed after \(received) of \(expected) bytes")
                }
                break
            } catch let failure as TransportFailure {
                if try state.size() > before { failures = 0 }
                failures += 1
                guard failures <= http.environment.downloadRetries else {
                    throw HubFailure.unreachable("download of \(file) failed after \(failures) attempts: \(failure.reason)")
                }
                Thread.sleep(forTimeInterval: http.environment.retryDelay)
            }
        }
        try finish(state, partial: partial)
    }

    private func finish(_ state: TransferState, partial: URL) throws {
        let size = try state.size()
        if let expected = metadata.size, size != expected {
            try? FileManager.default.removeItem(at: partial)
            throw GlimpseError.hub("\(file): downloaded \(size) bytes, expected \(expected); the partial file was removed, try again")
        }
        if let digest = state.digest(), digest != metadata.etag {
            try? FileManager.default.removeItem(at: partial)
            throw GlimpseError.hub("\(file): checksum mismatch (sha256 \(digest), expected \(metadata.etag)); the download was discarded")
        }
        try state.handle.synchronize()
        let mask = umask(0); umask(mask)
        chmod(partial.path, 0o666 & ~mask)
        guard rename(partial.path, destination.path) == 0 else {
            throw GlimpseError.hub("cannot move \(partial.path) to \(destination.path): \(String(cString: strerror(errno)))")
        }
        progress?(DownloadProgress(file: file, received: size, total: metadata.size, finished: true))
    }
}

/// The partial file and a running sha256 of exactly the bytes in it.
private final class TransferState: @unchecked Sendable {
    let handle: FileHandle
    private var hasher: SHA256?
    private(set) var written: Int64 = 0

    init(handle: FileHandle, verify: Bool) {
        self.handle = handle
        hasher = verify ? SHA256() : nil
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
        try handle.write(contentsOf: data)
        hasher?.update(data: data)
        written += Int64(data.count)
    }

    func digest() -> String? {
        hasher.map { $0.finalize().map { String(format: "%02x", $0) }.joined() }
    }
}
