import Foundation
import GlimpseBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file being written by a bulk job: buffered writes to a descriptor, `fsync` before it is
/// renamed into place. Created only through `BulkStaging`, which owns its path.
public final class BulkFile {
    /// The path relative to the output folder it will have once committed.
    public let name: String
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private static let bufferBytes = 1 << 20

    init(name: String, path: String) throws {
        self.name = name
        self.path = path
        // O_EXCL and O_NOFOLLOW: the staging folder was emptied, so anything already at this
        // path (a planted link) is refused rather than followed.
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BulkFile.failure(path, "cannot be created") }
    }

    deinit { if fd >= 0 { close(fd) } }

    public func write(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferBytes { try flush() }
    }

    public func write(_ text: String) throws { try write(text.utf8) }

    /// Raw memory (for example a `[Float]`'s bytes), written as it is in memory.
    public func write(raw: UnsafeRawBufferPointer) throws {
        try flush()
        try writeAll(raw)
    }

    /// The open descriptor, everything buffered written first: for writers that hand the file
    /// to a C library (libarchive's `archive_write_open_fd`, for WebDataset tar output). The
    /// descriptor stays owned by this file; do not close it.
    public func withFileDescriptor<T>(_ body: (Int32) throws -> T) throws -> T {
        try flush()
        guard fd >= 0 else { throw BulkFile.failure(path, "was written after it was closed") }
        return try body(fd)
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw BulkFile.failure(path, "was written after it was closed") }
        try Self.writeAll(fd, raw, path: path)
    }

    /// `write(2)` until every byte is written (short writes and EINTR retried).
    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let n = systemWrite(fd, base + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw BulkFile.failure(path, "cannot be written")
            }
            offset += n
        }
    }

    /// Flushes, syncs to disk and closes: after this the bytes survive a crash.
    func sync() throws {
        try flush()
        guard fsync(fd) == 0 else { throw BulkFile.failure(path, "cannot be synced to disk") }
        close(fd)
        fd = -1
    }

    static func failure(_ path: String, _ what: String) -> GlimpseError {
        .invalidFile(path: path, reason: "\(what) (\(String(cString: strerror(errno))))")
    }
}

/// `write(2)`, which the method `write` above hides by name.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}
