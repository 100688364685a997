import Foundation
import GlimpseBase
import GlimpseCore

extension NPY {
    /// A 2-D float matrix in an `.npy` file, memory-mapped and checked before any value is
    /// read: the magic, a known version, a header within `Limits.npyHeaderBytes` that is the
    /// dict NumPy writes (`descr` `<f4` or `<f2`, `fortran_order` False, a 2-D `shape`), and a
    /// file exactly as long as the header plus rows · columns values (sizes overflow-checked),
    /// so a truncated or padded file is refused rather than read short.
    public final class Matrix: @unchecked Sendable {
        public let path: String
        public let rows: Int
        public let columns: Int
        public let dtype: DType
        private let file: MappedFile
        private let dataOffset: Int

        public init(path: String) throws {
            self.path = path
            _ = try InputFile.check(path, what: ".npy file", limit: Int.max)
            file = try MappedFile(path: path)
            let header = try NPY.parseHeader(file.bytes, path: path)
            (rows, columns, dtype, dataOffset) = (header.rows, header.columns, header.dtype, header.dataOffset)
        }

        /// Row `index` as floats (float16 widened exactly); empty when out of range.
        public func row(_ index: Int) -> [Float] {
            guard (0 ..< rows).contains(index) else { return [] }
            let start = dataOffset + index * columns * dtype.bytes
            let raw = UnsafeRawBufferPointer(rebasing: file.bytes[start ..< start + columns * dtype.bytes])
            switch dtype {
            case .float32:
                return (0 ..< columns).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            case .float16:
                return (0 ..< columns).map { NPY.float(half: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
            }
        }
    }

    struct Header {
        var rows: Int
        var columns: Int
        var dtype: DType
        var dataOffset: Int
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Checks the preamble and the header dict of a whole `.npy` file's bytes.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Header {
        func bad(_ reason: String) -> GlimpseError { .invalidFile(path: path, reason: reason) }
        guard bytes.count >= 10, Array(bytes[0 ..< 6]) == magic else {
            throw bad("is not a NumPy .npy file (expected the magic \\x93NUMPY at its start)")
        }
        let major = bytes[6]
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw bad("is .npy format version \(major).\(bytes[7]); expected 1, 2 or 3")
        }
        guard bytes.count >= 8 + lengthBytes else { throw bad("is truncated inside its .npy preamble") }
        var length = 0
        for i in 0 ..< lengthBytes { length |= Int(bytes[8 + i]) << (8 * i) }
        guard length <= Limits.npyHeaderBytes else {
            throw bad("declares a \(length)-byte .npy header; at most \(Limits.npyHeaderBytes) are accepted")
        }
        let dataOffset = 8 + lengthBytes + length
        guard bytes.count >= dataOffset else {
            throw bad("is truncated: its .npy header needs \(dataOffset) bytes, the file has \(bytes.count)")
        }
        guard let text = String(bytes: bytes[(8 + lengthBytes) ..< dataOffset], encoding: major == 3 ? .utf8 : .ascii) else {
            throw bad("has an .npy header that is not \(major == 3 ? "UTF-8" : "ASCII") text")
        }
        let dict = try NPYHeaderDict(text, path: path)
        guard dict.descr == "<f4" || dict.descr == "<f2" else {
            throw bad("holds dtype '\(dict.descr)'; expected little-endian float32 ('<f4') or float16 ('<f2')")
        }
        guard !dict.fortranOrder else { throw bad("is in Fortran (column-major) order; expected C order") }
        guard dict.shape.count == 2 else {
            throw bad("holds a \(dict.shape.count)-dimensional array; expected a 2-D [rows, dimension] matrix")
        }
        let dtype: DType = dict.descr == "<f4" ? .float32 : .float16
        let (rows, columns) = (dict.shape[0], dict.shape[1])
        let (values, o1) = rows.multipliedReportingOverflow(by: columns)
        let (size, o2) = values.multipliedReportingOverflow(by: dtype.bytes)
        let (total, o3) = size.addingReportingOverflow(dataOffset)
        guard !o1, !o2, !o3 else { throw bad("declares shape (\(rows), \(columns)), whose size overflows") }
        guard total == bytes.count else {
            throw bad("declares shape (\(rows), \(columns)) of \(dtype.rawValue), \(total) bytes with its header, but has \(bytes.count)"
                + (bytes.count < total ? " (truncated)" : ""))
        }
        return Header(rows: rows, columns: columns, dtype: dtype, dataOffset: dataOffset)
    }

    /// IEEE half to single (exact: every half is a float).
    static func float(half bits: UInt16) -> Float {
        let sign: UInt32 = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        case 31:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}

/// The Python dict literal of an `.npy` header, read strictly: `{'descr': STR,
/// 'fortran_order': BOOL, 'shape': (INT, ...), }` in any key order, trailing spaces and a
/// newline allowed; anything else is refused.
struct NPYHeaderDict {
    var descr = ""
    var fortranOrder = true
    var shape: [Int] = []

    init(_ text: String, path: String) throws {
        func bad(_ what: String) -> GlimpseError { .invalidFile(path: path, reason: "has an .npy header that \(what)") }
        var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        func skipSpaces() { while s.first == " " { s.removeFirst() } }
        func expect(_ c: Character) throws {
            skipSpaces()
            guard s.first == c else { throw bad("is not a Python dict literal (expected '\(c)')") }
            s.removeFirst()
        }
        func string() throws -> String {
            skipSpaces()
            guard let quote = s.first, quote == "'" || quote == "\"" else { throw bad("has a key or descr that is not a quoted string") }
            s.removeFirst()
            guard let end = s.firstIndex(of: quote) else { throw bad("has an unterminated string") }
            let value = String(s[..<end])
            s = s[s.index(after: end)...]
            return value
        }
        func integer() throws -> Int {
            skipSpaces()
            let digits = s.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 19, let value = Int(digits) else {
                throw bad("has a shape entry that is not a non-negative integer that fits 64 bits")
            }
            s.removeFirst(digits.count)
            skipSpaces()
            if s.first == "L" { s.removeFirst() }
            return value
        }
        var seen: Set<String> = []
        try expect("{")
        while true {
            skipSpaces()
            if s.first == "}" { s.removeFirst(); break }
            let key = try string()
            guard seen.insert(key).inserted else { throw bad("repeats the key '\(key)'") }
            try expect(":")
            skipSpaces()
            switch key {
            case "descr": descr = try string()
            case "fortran_order":
                if s.hasPrefix("False") { fortranOrder = false; s.removeFirst(5) }
                else if s.hasPrefix("True") { fortranOrder = true; s.removeFirst(4) }
                else { throw bad("has a fortran_order that is not True or False") }
            case "shape":
                try expect("(")
                while true {
                    skipSpaces()
                    if s.first == ")" { s.removeFirst(); break }
                    guard shape.count < 32 else { throw bad("has a shape of more than 32 dimensions") }
                    shape.append(try integer())
                    skipSpaces()
                    if s.first == "," { s.removeFirst() } else if s.first != ")" { throw bad("has a malformed shape tuple") }
                }
            default: throw bad("has an unknown key '\(key)'")
            }
            skipSpaces()
            if s.first == "," { s.removeFirst() } else if s.first != "}" { throw bad("is not a Python dict literal (expected ',' or '}')") }
        }
        guard s.isEmpty else { throw bad("has text after its dict") }
        guard seen == ["descr", "fortran_order", "shape"] else {
            throw bad("lacks \(["descr", "fortran_order", "shape"].filter { !seen.contains($0) }.joined(separator: ", "))")
        }
    }
}
