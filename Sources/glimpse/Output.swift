import Foundation
import Glimpse

/// The CLI's JSON values are the library's (ordered keys, shortest round-trip floats).
typealias JSON = BulkJSON

extension BulkJSON {
    /// Short human form for table cells.
    var cell: String {
        switch self {
        case .string(let s): return s
        case .float(let f): return String(format: "%.4f", f)
        case .floats(let values):
            let head = values.prefix(3).map { String(format: "%.4f", $0) }.joined(separator: ", ")
            return "[" + head + (values.count > 3 ? ", … (\(values.count))" : "") + "]"
        case .array(let items) where items.count > 8:
            return "[" + items.prefix(8).map(\.cell).joined(separator: ", ") + ", … (\(items.count))]"
        case .array(let items): return "[" + items.map(\.cell).joined(separator: ", ") + "]"
        default:
            var s = ""; write(into: &s); return s
        }
    }
}

/// Writes records as JSON Lines as they come, or collects them into an aligned table.
/// In a table, a field holding a list of objects (e.g. the ranked labels of one image)
/// expands into one row per object.
struct Output {
    let format: OutputFormat
    let columns: [String]
    private var rows: [[String]] = []

    init(format: OutputFormat, columns: [String]) {
        self.format = format
        self.columns = columns
    }

    mutating func emit(_ record: [(String, JSON)]) {
        switch format {
        case .jsonl:
            var line = ""
            JSON.object(record).write(into: &line)
            line += "\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        case .table:
            var scalars: [String: String] = [:]
            var expanded: [[(String, JSON)]] = []
            for (key, value) in record {
                if case .array(let items) = value, items.allSatisfy({ if case .object = $0 { return true } else { return false } }), !items.isEmpty {
                    expanded = items.map { if case .object(let pairs) = $0 { return pairs } else { return [] } }
                } else {
                    scalars[key] = value.cell
                }
            }
            if expanded.isEmpty { expanded = [[]] }
            for (i, extra) in expanded.enumerated() {
                var cells = scalars
                if i > 0 { cells = [:] }  // repeat the record's own fields only on its first row
                for (key, value) in extra { cells[key] = value.cell }
                rows.append(columns.map { cells[$0] ?? "" })
            }
        }
    }

    func finish() {
        guard format == .table else { return }
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            var text = zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text + "\n"
        }
        var text = line(columns) + line(widths.map { String(repeating: "-", count: $0) })
        for row in rows { text += line(row) }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
