import CArchive
import Foundation
import GlimpseBase

/// Writes a tar archive member by member through libarchive: the layout of a WebDataset
/// shard when the members of one sample share their key. GNU tar's format, which GNU tar,
/// Python's tarfile and webdataset read, with names stored as their UTF-8 bytes (libarchive's
/// pax writer converts names through the C locale and crashes on non-ASCII ones there).
/// The bytes go to `sink` as libarchive produces them; nothing is written anywhere else. Members get mode 0644, owner 0 and modification time 0, so the same
/// members give the same archive, byte for byte.
public final class TarWriter {
    public typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    /// libarchive's client data: the sink, and the first error it threw (libarchive only
    /// sees -1), reported by the call that failed.
    private final class Client {
        let sink: Sink
        var error: Error?
        init(_ sink: @escaping Sink) { self.sink = sink }
    }

    private var handle: OpaquePointer?
    private let client: Client
    private let name: String

    /// `name` names the archive in error messages.
    public init(name: String, sink: @escaping Sink) throws {
        self.name = name
        client = Client(sink)
        guard let handle = archive_write_new() else { throw Self.failure(name, "libarchive could not start") }
        self.handle = handle
        guard archive_write_set_format_gnutar(handle) == ARCHIVE_OK,
              archive_write_set_bytes_in_last_block(handle, 1) == ARCHIVE_OK else {
            throw Self.failure(name, Self.message(handle))
        }
        let opened = archive_write_open(handle, Unmanaged.passUnretained(client).toOpaque(), nil, { _, data, buffer, length in
            guard let data, let buffer else { return -1 }
            let client = Unmanaged<Client>.fromOpaque(data).takeUnretainedValue()
            do {
                try client.sink(UnsafeRawBufferPointer(start: buffer, count: length))
                return la_ssize_t(length)
            } catch {
                client.error = client.error ?? error
                return -1
            }
        }, nil)
        guard opened == ARCHIVE_OK else { throw try failure() }
    }

    deinit { if let handle { archive_write_free(handle) } }

    /// Appends a regular file member `member` holding `bytes`.
    public func add(_ member: String, bytes: [UInt8]) throws {
        guard let handle else { throw Self.failure(name, "was already finished") }
        guard !member.isEmpty, !member.utf8.contains(0) else {
            throw GlimpseError.invalidArgument("tar member name '\(member)' is empty or holds a NUL byte")
        }
        guard let entry = archive_entry_new() else { throw Self.failure(name, "libarchive could not make an entry") }
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, member)
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, la_int64_t(bytes.count))
        archive_entry_set_mtime(entry, 0, 0)
        guard archive_write_header(handle, entry) == ARCHIVE_OK else { throw try failure() }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                archive_write_data(handle, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            guard written > 0 else { throw try failure() }
            offset += Int(written)
        }
    }

    /// Writes the end-of-archive blocks; the archive is complete in the sink after this.
    public func finish() throws {
        guard let handle else { return }
        guard archive_write_close(handle) == ARCHIVE_OK else { throw try failure() }
        archive_write_free(handle)
        self.handle = nil
        if let error = client.error { throw error }
    }

    /// The sink's own error if it threw, else libarchive's message.
    private func failure() throws -> GlimpseError {
        if let error = client.error { throw error }
        return Self.failure(name, handle.map(Self.message) ?? "unknown error")
    }

    private static func failure(_ name: String, _ reason: String) -> GlimpseError {
        .invalidFile(path: name, reason: "cannot be written as a tar archive (\(reason))")
    }

    private static func message(_ handle: OpaquePointer) -> String {
        archive_error_string(handle).map { String(cString: $0) } ?? "unknown error"
    }
}
