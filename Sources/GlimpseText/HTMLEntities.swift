/// Entity lookups for the two HTML unescapers, parsed once from the generated tables.
enum HTMLEntities {
    /// Python's `html.entities.html5`, keyed by name as there ("amp;", "amp", "AElig").
    static let html5: [String: [Unicode.Scalar]] = parse(html5EntityData)
    /// ftfy's all-caps extras ("EACUTE;" → "É").
    static let ftfyUppercase: [String: [Unicode.Scalar]] = parse(ftfyUppercaseEntityData)
    /// The longest html5 name, bounding the prefix search.
    static let longestName = html5.keys.map(\.count).max() ?? 0

    private static func parse(_ data: String) -> [String: [Unicode.Scalar]] {
        var table: [String: [Unicode.Scalar]] = [:]
        for record in data.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let equals = record.firstIndex(of: "=") else { continue }
            let scalars = record[record.index(after: equals)...].split(separator: ".").compactMap {
                UInt32($0, radix: 16).flatMap(Unicode.Scalar.init)
            }
            table[String(record[..<equals])] = scalars
        }
        return table
    }
}
