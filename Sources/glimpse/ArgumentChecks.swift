import ArgumentParser
import Foundation
import Glimpse

/// Checks on option values that `validate()` methods share. Each failure is a
/// `ValidationError` (a usage error, exit code 2) naming the option, the bound and the value.
enum Check {
    /// `value` (when given) lies in `bounds`; NaN never does.
    static func range<T: Comparable>(_ value: T?, _ option: String, _ bounds: ClosedRange<T>) throws {
        guard let value, !bounds.contains(value) else { return }
        if value < bounds.lowerBound { throw ValidationError("\(option) must be at least \(bounds.lowerBound), got \(value)") }
        if value > bounds.upperBound { throw ValidationError("\(option) must be at most \(bounds.upperBound), got \(value)") }
        throw ValidationError("\(option) must be from \(bounds.lowerBound) to \(bounds.upperBound), got \(value)")
    }

    /// `value` (when given) is at least `minimum` (options with no useful upper bound).
    static func atLeast(_ value: Int?, _ option: String, _ minimum: Int) throws {
        guard let value, value < minimum else { return }
        throw ValidationError("\(option) must be at least \(minimum), got \(value)")
    }

    /// Every value of a list option lies in `bounds`.
    static func range<T: Comparable>(_ values: [T], _ option: String, _ bounds: ClosedRange<T>) throws {
        for value in values { try range(value, option, bounds) }
    }

    /// A probability or IoU threshold: in [0, 1], NaN refused.
    static func unit(_ value: Float?, _ option: String) throws {
        guard let value, !(value >= 0 && value <= 1) else { return }
        throw ValidationError("\(option) must be in [0, 1], got \(value)")
    }

    /// A finite number above zero (temperatures, penalties).
    static func positive(_ value: Float?, _ option: String) throws {
        guard let value, !(value > 0 && value.isFinite) else { return }
        throw ValidationError("\(option) must be a positive number, got \(value)")
    }

    /// A finite number.
    static func finite(_ value: Float?, _ option: String) throws {
        guard let value, !value.isFinite else { return }
        throw ValidationError("\(option) must be a finite number, got \(value)")
    }

    /// Labels, queries and templates given on the command line: one line of visible text
    /// each. An empty (or all-blank) one would be matched against every image as "", and a
    /// control character (an escape sequence, a tab or newline pasted in) is never part of a
    /// class name, so both are errors naming the option and the value's position.
    static func names(_ values: [String], _ option: String, _ what: String) throws {
        for (i, value) in values.enumerated() {
            if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw ValidationError(values.count == 1 ? "\(option) is empty" : "\(what) \(i + 1) is empty (in \(option))")
            }
            if let control = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
                throw ValidationError("\(values.count == 1 ? option : "\(what) \(i + 1) in \(option)") (\(quoted(value))) contains the control character \(codePoint(control))")
            }
        }
    }

    /// Free texts (`--text`, `--prompt`): no control characters other than tab, line feed and
    /// carriage return, which a multi-line text may hold; blank only where `allowBlank` (the
    /// embedding of "" is a common null prompt).
    static func texts(_ values: [String], _ option: String, _ what: String, allowBlank: Bool = false) throws {
        let allowed: Set<Unicode.Scalar> = ["\t", "\n", "\r"]
        for (i, value) in values.enumerated() {
            if !allowBlank, value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw ValidationError(values.count == 1 ? "\(option) is empty" : "\(what) \(i + 1) is empty (in \(option))")
            }
            if let control = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control && !allowed.contains($0) }) {
                throw ValidationError("\(values.count == 1 ? option : "\(what) \(i + 1) in \(option)") (\(quoted(value))) contains the control character \(codePoint(control))")
            }
        }
    }

    /// A list option that takes every value up to the next option swallows the positional
    /// arguments written after it (`--query-image q.jpg photo.jpg`). When that left no
    /// positionals, say so and how to write it, instead of "no images". A list of files
    /// (`--query-image`) swallowed something when it has more than one value; a list of texts
    /// (`--labels`, `--query`, `--text`) when a value names an existing file or has an image
    /// file's extension.
    static func swallowed(option: String, values: [String], valuesAreFiles: Bool, command: String,
                          example: (option: String, positional: String)) throws {
        let suspects = valuesAreFiles ? (values.count > 1 ? Array(values.dropFirst()) : [])
            : values.filter { looksLikeImageFile($0) || hasImageExtension($0) }
        guard !suspects.isEmpty else { return }
        let shown = suspects.count > 3 ? suspects.prefix(3).map(quoted).joined(separator: ", ") + ", …"
            : suspects.map(quoted).joined(separator: ", ")
        throw ValidationError("""
            no images: \(option) takes every value up to the next option, so it also took \(shown). \
            Put the images before \(option), or end its values with --: \
            glimpse \(command) ... \(example.positional) \(option) \(example.option)  or  \
            glimpse \(command) ... \(option) \(example.option) -- \(example.positional)
            """)
    }

    /// Values of a text list option (`--labels`, `--query`, `--text`) that name existing image
    /// files were almost surely meant as positional images the option swallowed.
    static func noImagePaths(_ values: [String], option: String, command: String) throws {
        guard let path = values.first(where: looksLikeImageFile) else { return }
        throw ValidationError("""
            \(quoted(path)) was taken as a value of \(option), but it is an image file. \
            Put the images before \(option), or end its values with --: \
            glimpse \(command) ... \(option) ... -- \(path)
            """)
    }

    static func hasImageExtension(_ value: String) -> Bool {
        let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"]
        return imageExtensions.contains(URL(fileURLWithPath: value).pathExtension.lowercased())
    }

    /// An existing regular file with an image file's extension.
    static func looksLikeImageFile(_ value: String) -> Bool {
        hasImageExtension(value) && InputFile.kind(of: value) == .regular
    }

    static func quoted(_ value: String) -> String {
        var out = ""
        JSON.quote(value.count > 60 ? String(value.prefix(57)) + "..." : value, into: &out)
        return out
    }

    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
