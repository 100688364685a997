import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a file a user or a server handed us, with the checks every such read needs:
/// it exists, it is a regular file (not a folder, FIFO or device, which would block or
/// never end), and its size is within a stated limit *before* any of it is read. Errors
/// name the file, what it was meant to be, and the cause.
public enum InputFile {
    /// The kind of thing at `path`, following symbolic links (as opening it would).
    public enum Kind: Equatable, Sendable {
        case missing, regular, directory
        case other(String)
    }

    public static func kind(of path: String) -> Kind { inspect(path).kind }

    /// What `path` is and its size, from one `stat`.
    private static func inspect(_ path: String) -> (kind: Kind, size: Int) {
        var info = stat()
        guard stat(path, &info) == 0 else { return (.missing, 0) }
        let kind: Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFIFO: kind = .other("a FIFO (named pipe)")
        case S_IFCHR: kind = .other("a character device")
        case S_IFBLK: kind = .other("a block device")
        case S_IFSOCK: kind = .other("a socket")
        default: kind = .other("not a regular file")
        }
        return (kind, Int(info.st_size))
    }

    /// Checks that `path` is a regular file of at most `limit` bytes and returns its size.
    /// `what` names the file's role in errors ("image", "labels file", "config.json").
    @discardableResult
    public static func check(_ path: String, what: String, limit: Int) throws -> Int {
        let (kind, size) = inspect(path)
        switch kind {
        case .missing: throw GlimpseError.fileNotFound(path: path, what: what)
        case .directory: throw GlimpseError.invalidFile(path: path, reason: "is a directory, not \(article(what))")
        case .other(let description): throw GlimpseError.invalidFile(path: path, reason: "is \(description), not \(article(what))")
        case .regular: break
        }
        guard size <= limit else {
            throw GlimpseError.invalidFile(path: path, reason: "is \(size) bytes, more than the \(limit) bytes \(article(what)) may have")
        }
        return size
    }

    /// The bytes of a regular file of at most `limit` bytes.
    public static func read(_ path: String, what: String, limit: Int) throws -> Data {
        try read(path, what: what, limit: limit, prefix: 0) { _ in }
    }

    /// As `read(_:what:limit:)`, but the first `prefix` bytes are handed to `accept` before
    /// the rest is read, through the same open file: a file whose first bytes say it is not
    /// what it should be (an image that is not JPEG or PNG) is refused without reading it whole.
    public static func read(_ path: String, what: String, limit: Int, prefix: Int,
                            accept: (Data) throws -> Void) throws -> Data {
        try check(path, what: what, limit: limit)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened for reading (\(String(cString: strerror(errno))))")
        }
        defer { try? handle.close() }
        do {
            var data = prefix > 0 ? try handle.read(upToCount: min(prefix, limit + 1)) ?? Data() : Data()
            try accept(data)
            // One byte past the limit tells a file that grew since the size check.
            let rest = limit + 1 - data.count
            if rest > 0, let more = try handle.read(upToCount: rest) { data += more }
            guard data.count <= limit else {
                throw GlimpseError.invalidFile(path: path, reason: "grew past the \(limit) bytes \(article(what)) may have while being read")
            }
            return data
        } catch let error as GlimpseError {
            throw error
        } catch {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
    }

    /// A UTF-8 text file of at most `limit` bytes (a leading byte-order mark is dropped).
    /// UTF-16 files and other encodings are an error saying so, as is a NUL character.
    public static func text(_ path: String, what: String, limit: Int) throws -> String {
        let data = try read(path, what: what, limit: limit)
        return try decodeText(data, path: path, what: what)
    }

    /// `data` as UTF-8 text, or an error naming `path` and what is wrong with it.
    public static func decodeText(_ data: Data, path: String, what: String) throws -> String {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw GlimpseError.invalidFile(path: path, reason: "is UTF-16 text; \(article(what)) must be UTF-8")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw GlimpseError.invalidFile(path: path, reason: "is not UTF-8 text; \(article(what)) must be UTF-8")
        }
        if let nul = bytes.firstIndex(of: 0) {
            if looksLikeUTF16(bytes) {
                throw GlimpseError.invalidFile(path: path, reason: "is UTF-16 text (without a byte-order mark); \(article(what)) must be UTF-8")
            }
            throw GlimpseError.invalidFile(path: path, reason: "contains a NUL byte at offset \(nul); \(article(what)) must be text")
        }
        return text
    }

    /// ASCII-range text in UTF-16 without a byte-order mark: every other byte NUL, the rest not.
    static func looksLikeUTF16(_ bytes: [UInt8]) -> Bool {
        let head = bytes.prefix(512)
        guard head.count >= 4 else { return false }
        let pairs = stride(from: head.startIndex, to: head.endIndex - 1, by: 2).map { (head[$0], head[$0 + 1]) }
        return pairs.allSatisfy { $0.0 != 0 && $0.1 == 0 } || pairs.allSatisfy { $0.0 == 0 && $0.1 != 0 }
    }

    /// "a labels file", "an image": `what` with its indefinite article, for messages.
    public static func article(_ what: String) -> String {
        guard let first = what.first?.lowercased() else { return what }
        return ("aeiou".contains(first) ? "an " : "a ") + what
    }
}
