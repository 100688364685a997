import Foundation
import GlimpseCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embeddings of a photo library: a flat file of little-endian float32 rows of
/// `dimension` values, row `slot` at byte `slot · dimension · 4`, with no header, so search
/// memory-maps it as one [rows, dimension] matrix (and numpy reads it with `np.memmap`).
///
/// Crash safety comes from the order of writes: rows are written into slots no committed
/// catalogue row points at, and fsynced, before the transaction that points at them commits.
/// A run killed in between leaves only unreferenced rows, which the next run overwrites.
public final class EmbeddingStore: @unchecked Sendable {
    public let path: String
    public let dimension: Int
    private let fd: Int32

    /// Opens (creating when missing) the embeddings file for writing.
    public init(path: String, dimension: Int) throws {
        guard (1 ... Limits.configDimension).contains(dimension) else {
            throw GlimpseError.invalidArgument("embedding dimension \(dimension) is out of range 1 to \(Limits.configDimension)")
        }
        self.path = path
        self.dimension = dimension
        fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened for writing (\(String(cString: strerror(errno))))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw GlimpseError.invalidFile(path: path, reason: "is not a regular file, so not an embeddings file")
        }
    }

    deinit { close(fd) }

    /// Bytes of one row.
    public var rowBytes: Int { dimension * MemoryLayout<Float>.size }

    /// Whole rows the file holds now.
    public func rowCount() throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GlimpseError.invalidFile(path: path, reason: "cannot be inspected") }
        return Int(info.st_size) / rowBytes
    }

    /// Writes `rows` (each `dimension` values) into `slots`, then forces them to disk.
    func write(_ rows: [[Float]], at slots: [Int]) throws {
        guard rows.count == slots.count else {
            throw GlimpseError.invalidArgument("\(rows.count) embeddings for \(slots.count) slots")
        }
        for (row, slot) in zip(rows, slots) {
            guard row.count == dimension else {
                throw GlimpseError.invalidArgument("an embedding of \(row.count) values for a library of \(dimension)")
            }
            let (offset, overflow) = slot.multipliedReportingOverflow(by: rowBytes)
            guard slot >= 0, !overflow else { throw GlimpseError.invalidArgument("embedding slot \(slot) is out of range") }
            let bytes = row.map { $0.bitPattern.littleEndian }
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard written == rowBytes else {
                throw GlimpseError.invalidFile(path: path, reason: "cannot be written (\(String(cString: strerror(errno))))")
            }
        }
        try sync()
    }

    /// Reads the row at `slot` (to give a copied file its original's embedding).
    func read(slot: Int) throws -> [Float] {
        var bits = [UInt32](repeating: 0, count: dimension)
        let offset = slot * rowBytes
        let got = bits.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard got == rowBytes else {
            throw GlimpseError.invalidFile(path: path, reason: "has no embedding at row \(slot) (truncated)")
        }
        return bits.map { Float(bitPattern: UInt32(littleEndian: $0)) }
    }

    func sync() throws {
        guard fsync(fd) == 0 else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be flushed to disk (\(String(cString: strerror(errno))))")
        }
    }
}

/// The first `rows` rows of an embeddings file, memory-mapped read-only: [rows, dimension].
public final class EmbeddingMatrix: @unchecked Sendable {
    public let rows: Int
    public let dimension: Int
    private let file: MappedFile?

    /// Maps `path`, which must hold at least `rows` rows; a shorter file is an error saying
    /// how many rows it has and how many the catalogue expects.
    public init(path: String, rows: Int, dimension: Int) throws {
        self.rows = rows
        self.dimension = dimension
        let (values, o1) = rows.multipliedReportingOverflow(by: dimension)
        let (bytes, o2) = values.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        guard rows >= 0, rows <= Limits.libraryFiles, (1 ... Limits.configDimension).contains(dimension), !o1, !o2 else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot hold \(rows) embeddings of \(dimension) values")
        }
        guard rows > 0 else { file = nil; return }
        let mapped = try MappedFile(path: path)
        guard mapped.size >= bytes else {
            throw GlimpseError.invalidFile(path: path, reason: "holds \(mapped.size / (dimension * 4)) embeddings (\(mapped.size) bytes) but the catalogue points at \(rows) (\(bytes) bytes): it is truncated; run glimpse index again to re-embed the lost ones")
        }
        file = mapped
    }

    /// Row-major [rows, dimension] floats (little-endian on disk; every supported platform is).
    public var values: UnsafePointer<Float>? { file.map { $0.base.assumingMemoryBound(to: Float.self) } }

    /// The row at `slot` as an array.
    public func row(_ slot: Int) -> [Float] {
        guard let values, (0 ..< rows).contains(slot) else { return [] }
        return Array(UnsafeBufferPointer(start: values + slot * dimension, count: dimension))
    }
}
