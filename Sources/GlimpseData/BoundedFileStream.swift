import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file as an `InputStream` (what the CSV parser reads from) that refuses to deliver more
/// than `limit` bytes past the start of the current row: an unclosed quote would otherwise
/// make the parser read the rest of a multi-gigabyte file into one field.
final class BoundedFileStream: InputStream {
    private let fd: Int32
    private let limit: Int
    private var status: Stream.Status = .notOpen
    private var failure: Error?
    /// Bytes handed to the parser so far.
    private(set) var consumed = 0
    /// `consumed` when the current row started (set by the reader after each row).
    var rowStart = 0
    /// Whether the last read was refused for the row bound.
    private(set) var overLimit = false

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
        super.init(data: Data())
    }

    deinit { _ = systemClose(fd) }

    override func open() { if status == .notOpen { status = .open } }
    override func close() { status = .closed }
    override var streamStatus: Stream.Status { status }
    override var streamError: Error? { failure }
    override var hasBytesAvailable: Bool { status == .open }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength length: Int) -> Int {
        guard status == .open else { return status == .atEnd ? 0 : -1 }
        guard consumed - rowStart <= limit else {
            overLimit = true
            status = .error
            failure = CocoaError(.fileReadTooLarge)
            return -1
        }
        while true {
            let n = systemRead(fd, buffer, length)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                status = .error
                failure = CocoaError(.fileReadUnknown)
                return -1
            }
            if n == 0 { status = .atEnd }
            consumed += n
            return n
        }
    }

    override func getBuffer(_ buffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, length len: UnsafeMutablePointer<Int>) -> Bool { false }
}

// `InputStream` has its own `read` and `close`; these reach the C library's.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ length: Int) -> Int { read(fd, buffer, length) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
