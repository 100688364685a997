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
    /// The descriptor an archive opened at an offset reads from (closed with it).
    private var descriptor: Int32 = -1

    /// Reads `path` from its start, or from `offset`, a member's header position in an
    /// uncompressed archive (`headerPosition`), to read that member alone.
    init(path: String, offset: Int64 = 0) throws {
        self.path = path
        guard offset >= 0 else { throw GlimpseError.invalidFile(path: path, reason: "cannot be read at offset \(offset)") }
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
        var opened: Int32
        if offset > 0 {
            descriptor = open(path, O_RDONLY)
            guard descriptor >= 0, lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
                if descriptor >= 0 { _ = Foundation.close(descriptor) }
                descriptor = -1
                archive_read_free(handle)
                throw GlimpseError.invalidFile(path: path, reason: "cannot be read at offset \(offset)")
            }
            opened = archive_read_open_fd(handle, descriptor, 1 << 16)
        } else {
            opened = archive_read_open_filename(handle, path, 1 << 16)
        }
        guard opened == ARCHIVE_OK else {
            if descriptor >= 0 { _ = Foundation.close(descriptor) }
            descriptor = -1
            let reason = Self.message(handle)
            archive_read_free(handle)
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened as a tar shard (\(reason))")
        }
        self.handle = handle
    }

    deinit { close() }

    /// Where the current member's header starts in the uncompressed stream, which is the file
    /// offset when `isCompressed` is false.
    var headerPosition: Int64? {
        guard let handle else { return nil }
        let position = archive_read_header_position(handle)
        return position >= 0 ? Int64(position) : nil
    }

    /// Whether the archive is read through a decompressing filter (known after `next`).
    var isCompressed: Bool { handle.map { archive_filter_count($0) > 1 } ?? true }

    /// The bytes of member `name` whose header is at `offset` of the uncompressed archive
    /// `shard`, at most `limit` of them: the archive is reopened there, and a member of
    /// another name (the shard changed since it was indexed) is an error.
    static func member(shard: String, offset: Int64, name: String, limit: Int) throws -> [UInt8] {
        func fail(_ reason: String) -> GlimpseError { .invalidFile(path: shard, reason: "member \(name) at offset \(offset): \(reason)") }
        let archive: TarArchive
        do { archive = try TarArchive(path: shard, offset: offset) } catch GlimpseError.invalidFile(_, let reason) {
            throw fail("\(reason) (the shard changed?)")
        }
        defer { archive.close() }
        guard case .member(let found, let size) = archive.next() else { throw fail("no member there (the shard changed?)") }
        guard found == name else { throw fail("found \(found) there instead (the shard changed?)") }
        switch archive.read(limit: limit, declaredSize: size) {
        case .success(let bytes)?: return bytes
        case .failure(let error)?: throw fail(error.reason)
        case nil: throw fail(archive.failureReason)
        }
    }

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

    /// Skips the current member's data without reading it: `.failure` with a reason when its
    /// declared size is beyond `limit`, `nil` when the archive broke.
    func skip(limit: Int, declaredSize: Int?) -> Result<Void, ReasonOnly>? {
        guard let handle, archive_read_data_skip(handle) == ARCHIVE_OK else { return nil }
        if let size = declaredSize, size > limit {
            return .failure(ReasonOnly("is \(size) bytes, more than the \(limit) bytes it may have"))
        }
        return .success(())
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
        if descriptor >= 0 { _ = Foundation.close(descriptor) }
        descriptor = -1
    }
}
