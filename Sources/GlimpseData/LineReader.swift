import Foundation
import GlimpseBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lines of a file read in fixed chunks, each at most `limit` bytes, so a manifest of any
/// length streams in constant memory and a file without newlines cannot exhaust it.
final class LineReader {
    enum Line {
        case text(number: Int, bytes: [UInt8])
        /// A line longer than the limit, skipped up to its newline.
        case tooLong(number: Int)
        /// The file could not be read further.
        case readError(number: Int, reason: String)
    }

    private let fd: Int32
    private let limit: Int
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private var chunkCount = 0
    private var chunkPosition = 0
    private var atEnd = false
    private var lineNumber = 0

    /// Opens `path`, which must be a regular file (not a FIFO that would block).
    init(path: String, what: String, limit: Int) throws {
        switch InputFile.kind(of: path) {
        case .missing: throw GlimpseError.fileNotFound(path: path, what: what)
        case .directory: throw GlimpseError.invalidFile(path: path, reason: "is a directory, not \(InputFile.article(what))")
        case .other(let kind): throw GlimpseError.invalidFile(path: path, reason: "is \(kind), not \(InputFile.article(what))")
        case .regular: break
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened for reading (\(String(cString: strerror(errno))))")
        }
        self.fd = fd
        self.limit = limit
    }

    /// Reads an already open descriptor (standard input in streaming mode: a pipe is fine
    /// here, it is read as it comes); the reader closes its own duplicate of it.
    init(fileDescriptor: Int32, limit: Int) throws {
        let fd = dup(fileDescriptor)
        guard fd >= 0 else {
            throw GlimpseError.invalidArgument("file descriptor \(fileDescriptor) cannot be read (\(String(cString: strerror(errno))))")
        }
        self.fd = fd
        self.limit = limit
    }

    deinit { close(fd) }

    /// The next line without its `\n` (and `\r`), or `nil` at the end of the file.
    func next() -> Line? {
        guard !atEnd || chunkPosition < chunkCount else { return nil }
        lineNumber += 1
        var line: [UInt8] = []
        var overflow = false
        while true {
            if chunkPosition >= chunkCount {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    atEnd = true
                    return .readError(number: lineNumber, reason: "cannot be read (\(String(cString: strerror(errno))))")
                }
                if n == 0 {
                    atEnd = true
                    chunkCount = 0
                    chunkPosition = 0
                    // A last line without a newline still counts; nothing after the last newline does not.
                    if line.isEmpty && !overflow { lineNumber -= 1; return nil }
                    return finish(line, overflow)
                }
                chunkCount = n
                chunkPosition = 0
            }
            let available = chunk[chunkPosition..<chunkCount]
            if let newline = available.firstIndex(of: 0x0A) {
                if !overflow { line.append(contentsOf: chunk[chunkPosition..<newline]) }
                chunkPosition = newline + 1
                if line.count > limit { overflow = true }
                return finish(line, overflow)
            }
            if !overflow { line.append(contentsOf: available) }
            chunkPosition = chunkCount
            if line.count > limit { overflow = true; line = [] }
        }
    }

    private func finish(_ line: [UInt8], _ overflow: Bool) -> Line {
        if overflow || line.count > limit { return .tooLong(number: lineNumber) }
        var bytes = line
        if bytes.last == 0x0D { bytes.removeLast() }
        return .text(number: lineNumber, bytes: bytes)
    }
}
