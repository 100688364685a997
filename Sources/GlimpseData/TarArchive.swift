import CArchive
import Foundation
import GlimpseBase

/// A tar archive (plain or gzip-compressed) read member by member through libarchive, never
/// more than one member's bytes at a time. Nothing is ever written to disk, so member paths
/// with `..` or a leading `/` are just names.
final class TarArchive {
    enum Step {
        /// A regular file member; `read` must be called (or not) before the next step.
        case member(name: String, size: Int?)
        /// A member that is not a regular file (folder, link, device), skipped.
        case other
        case end
        /// The archive cannot be read further (truncated, corrupt, not a tar at all).
        case broken(String)
    }

    let path: String
    private var handle: OpaquePointer?

    init(path: String) throws {
        self.path = path
        switch InputFile.kind(of: path) {
        case .missing: throw GlimpseError.fileNotFound(path: path, what: "tar shard")
        case .directory: throw GlimpseError.invalidFile(path: path, reason: "is a directory, not a tar shard")
        case .other(let kind): throw GlimpseError.invalidFile(path: path, reason: "is \(kind), not a tar shard")
        case .regular: break
        }
        guard let handle = archive_read_new() else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be read (libarchive could not start)")
        }
        archive_read_support_filter_gzip(handle)
        archive_read_support_format_tar(handle)
        guard archive_read_open_filename(handle, path, 1 << 16) == ARCHIVE_OK else {
            let reason = Self.message(handle)
            archive_read_free(handle)
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened as a tar shard (\(reason))")
        }
        self.handle = handle
    }

    deinit { if let handle { archive_read_free(handle) } }

    private static func message(_ handle: OpaquePointer) -> String {
        archive_error_string(handle).map { String(cString: $0) } ?? "unknown error"
    }

    func next() -> Step {
        guard let handle else { return .end }
        var entry: OpaquePointer?
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { close(); return .end }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            let reason = Self.message(handle)
            close()
            return .broken(reason)
        }
        guard archive_entry_filetype(entry) == 0o100000 else { return .other }
        guard let name = (archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry)).map({ String(cString: $0) }) else {
            return .other
        }
        let size = archive_entry_size_is_set(entry) != 0 ? Int(exactly: archive_entry_size(entry)) : nil
        return .member(name: name, size: size.flatMap { $0 >= 0 ? $0 : nil })
    }

    /// The current member's bytes: `.failure` with a reason when it is larger than `limit`
    /// (its data is then skipped, not read), `nil` when the archive broke while reading it.
    func read(limit: Int, declaredSize: Int?) -> Result<[UInt8], ReasonOnly>? {
        guard let handle else { return nil }
        if let size = declaredSize, size > limit {
            guard archive_read_data_skip(handle) == ARCHIVE_OK else { return nil }
            return .failure(ReasonOnly("is \(size) bytes, more than the \(limit) bytes it may have"))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(declaredSize ?? 0, limit))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { archive_read_data(handle, $0.baseAddress, $0.count) }
            if n == 0 { return .success(bytes) }
            guard n > 0 else { return nil }
            guard bytes.count + n <= limit else {
                guard archive_read_data_skip(handle) == ARCHIVE_OK else { return nil }
                return .failure(ReasonOnly("is more than the \(limit) bytes it may have"))
            }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// The reason the archive broke, after `read` returned `nil`.
    var failureReason: String {
        handle.map(Self.message) ?? "read error"
    }

    func close() {
        if let handle { archive_read_free(handle) }
        handle = nil
    }
}
