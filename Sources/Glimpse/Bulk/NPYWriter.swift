import Foundation
import GlimpseBase

/// Arrays in NumPy's `.npy` format (format version 1.0): the magic `\x93NUMPY`, version 1.0,
/// a little-endian 2-byte header length, and a Python dict literal header padded with spaces
/// and ended by `\n` so the data starts on a 64-byte boundary (byte for byte what `numpy.save` writes); then the values, C order,
/// little-endian. `numpy.load` reads it directly (and memory-maps it with `mmap_mode`).
public enum NPY {
    /// The element types Glimpse writes.
    public enum DType: String, Sendable, CaseIterable {
        case float32, float16

        /// NumPy's type string.
        public var descr: String { self == .float32 ? "<f4" : "<f2" }
        public var bytes: Int { self == .float32 ? 4 : 2 }
    }

    /// The header for an array of `shape`: magic, version, length and the padded dict.
    public static func header(dtype: DType, shape: [Int]) throws -> [UInt8] {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw GlimpseError.invalidArgument("npy shape \(shape) has a negative dimension") }
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': \(dims), }"
        // As NumPy writes it: room for the first dimension to grow to 21 digits in place, then
        // spaces up to the 64-byte boundary (1 to 64 of them, counting the final newline).
        if let first = shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        let fixed = 10  // magic (6), version (2), header length (2)
        dict += String(repeating: " ", count: 64 - (fixed + dict.utf8.count + 1) % 64) + "\n"
        guard dict.utf8.count <= Int(UInt16.max) else { throw GlimpseError.invalidArgument("npy header for shape \(shape) is too long") }
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    /// The whole file for a [rows, columns] matrix given row-major as `values`.
    public static func write(_ values: [Float], rows: Int, columns: Int, dtype: DType, to file: BulkFile) throws {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count == values.count else {
            throw GlimpseError.invalidArgument("npy matrix of \(rows)×\(columns) does not match its \(values.count) values")
        }
        try file.write(header(dtype: dtype, shape: [rows, columns]))
        switch dtype {
        case .float32:
            #if _endian(little)
            try values.withUnsafeBytes { try file.write(raw: $0) }
            #else
            try values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { try file.write(raw: $0) }
            #endif
        case .float16:
            // Round to nearest even, as NumPy's astype(float16) does.
            try halves(values).withUnsafeBytes { try file.write(raw: $0) }
        }
    }

    /// Float16 bit patterns, little-endian.
    static func halves(_ values: [Float]) -> [UInt16] {
        #if arch(x86_64) && os(macOS)
        return values.map { float16Bits($0).littleEndian }
        #else
        return values.map { Float16($0).bitPattern.littleEndian }
        #endif
    }

    #if arch(x86_64) && os(macOS)
    /// IEEE half from single with round-to-nearest-even (Float16 is unavailable on Intel Macs).
    static func float16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7FFFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        var e = exponent - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            guard e >= -10 else { return sign }
            mantissa |= 0x800000
            let shift = UInt32(14 - e)
            var half = mantissa >> shift
            let rest = mantissa & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = mantissa >> 13
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }
        if half == 0x400 { half = 0; e += 1; if e >= 31 { return sign | 0x7C00 } }
        return sign | UInt16(e << 10) | UInt16(half)
    }
    #endif
}
