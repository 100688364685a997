/// The few Python `str` operations CLIP's cleaning relies on, with Python's exact definitions:
/// `str.isspace` differs from Swift's `isWhitespace`, and `str.lower` applies the Greek
/// final-sigma rule, which Swift's `lowercased()` does not.
enum PythonText {
    /// `str.isspace()`: bidirectional class WS, B or S, or category Zs. Includes U+001C–U+001F,
    /// which `\s` of the `regex` module does not.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.strip()` with no arguments.
    static func strip(_ scalars: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar> {
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, isSpace(scalars[start]) { start += 1 }
        while end > start, isSpace(scalars[end - 1]) { end -= 1 }
        return scalars[start..<end]
    }

    /// `str.lower()`: Python's lower-case mappings (İ → i̇), and Σ → ς at the end of a word.
    static func lower(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (index, scalar) in scalars.enumerated() {
            let value = scalar.value
            if value < 0x80 {
                out.append(value >= 0x41 && value <= 0x5A ? Unicode.Scalar(UInt8(value + 32)) : scalar)
            } else if value == 0x3A3 {
                out.append(isFinalSigma(scalars, at: index) ? "\u{3C2}" : "\u{3C3}")
            } else if value == 0x130 {
                out += ["i", "\u{307}"]
            } else {
                out.append(PythonUnicode.lowercase(scalar))
            }
        }
        return out
    }

    /// Unicode's Final_Sigma context, as CPython tests it: a cased letter before (skipping
    /// case-ignorables) and no cased letter after.
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0, PythonUnicode.isCaseIgnorable(scalars[before]) { before -= 1 }
        guard before >= 0, PythonUnicode.isCased(scalars[before]) else { return false }
        var after = index + 1
        while after < scalars.count, PythonUnicode.isCaseIgnorable(scalars[after]) { after += 1 }
        return after == scalars.count || !PythonUnicode.isCased(scalars[after])
    }
}

/// Lookups into Python's Unicode data (PythonUnicodeTable.swift). The Swift standard library
/// may carry a newer Unicode version than the Python the reference ran on; case mappings and
/// properties of newly added or re-classified characters would then differ.
enum PythonUnicode {
    static func lowercase(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let value = scalar.value
        guard let index = lastIndex(in: runStarts, notAbove: value) else { return scalar }
        let run = runs[index]
        guard value <= run.end, run.step == 0 || (value - run.start) % run.step == 0 else { return scalar }
        return Unicode.Scalar(UInt32(Int64(value) + Int64(run.delta))) ?? scalar
    }

    static func isCased(_ scalar: Unicode.Scalar) -> Bool { isMember(scalar, cased) }
    static func isCaseIgnorable(_ scalar: Unicode.Scalar) -> Bool { isMember(scalar, caseIgnorable) }
    /// Python `re`'s `\d` on str patterns: any Nd digit.
    static func isDecimalDigit(_ scalar: Unicode.Scalar) -> Bool { isMember(scalar, decimal) }

    private struct Run { let start: UInt32, end: UInt32, delta: Int32, step: UInt32 }

    private static let runs: [Run] = pythonLowercaseRunData.split(whereSeparator: \.isWhitespace).compactMap { record in
        let fields = record.split(separator: ".")
        guard fields.count == 4, let start = UInt32(fields[0], radix: 16), let end = UInt32(fields[1], radix: 16),
              let delta = Int32(fields[2]), let step = UInt32(fields[3]) else { return nil }
        return Run(start: start, end: end, delta: delta, step: step)
    }
    private static let runStarts = runs.map(\.start)
    private static let cased = toggles(pythonCasedToggleData)
    private static let caseIgnorable = toggles(pythonCaseIgnorableToggleData)
    private static let decimal = toggles(pythonDecimalToggleData)

    private static func toggles(_ data: String) -> [UInt32] {
        data.split(whereSeparator: \.isWhitespace).compactMap { UInt32($0, radix: 16) }
    }

    /// Inside when an odd number of toggles lie at or below the code point.
    private static func isMember(_ scalar: Unicode.Scalar, _ toggles: [UInt32]) -> Bool {
        guard let index = lastIndex(in: toggles, notAbove: scalar.value) else { return false }
        return index % 2 == 0
    }

    private static func lastIndex(in sorted: [UInt32], notAbove value: UInt32) -> Int? {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : low - 1
    }
}
