import ArgumentParser
import Foundation
import Glimpse

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a model: architecture, parameters, dtypes, files, preprocessing and tokenizer.",
        discussion: "Reads the files only (tensor headers, configs); the network is not built. One JSON object, or field/value rows with --format table."
    )

    @Option(name: .shortAndLong, help: modelHelp)
    var model: String

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    @Flag(name: .shortAndLong, help: "No download progress on standard error.")
    var quiet = false

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("--model is empty: give a model folder or a Hub id") }
    }

    func run() throws {
        let checkpoint = try locateModel(model, quiet: quiet)
        let summary = try ModelSummary(checkpoint: checkpoint)
        let fields = record(summary)
        switch format {
        case .jsonl:
            var output = Output(format: .jsonl, columns: [])
            output.emit(fields)
        case .table:
            var output = Output(format: .table, columns: ["field", "value"])
            for (key, value) in fields { output.emit([("field", .string(key)), ("value", .string(tableCell(key, value, summary)))]) }
            output.finish()
        }
    }

    private func record(_ s: ModelSummary) -> [(String, JSON)] {
        func optional<T>(_ value: T?, _ make: (T) -> JSON) -> JSON { value.map(make) ?? .null }
        let preprocessing: JSON = optional(s.preprocessing) { p in
            let resize: JSON
            switch p.size {
            case let .shortestEdge(edge, longest):
                resize = .object([("shortest_edge", .int(edge))] + (longest.map { [("longest_edge", JSON.int($0))] } ?? []))
            case let .exact(height, width): resize = .object([("height", .int(height)), ("width", .int(width))])
            }
            return .object([
                ("processor", optional(s.imageProcessorType) { .string($0) }),
                ("resize", p.doResize ? resize : .null),
                ("resample", .string("\(p.resample)")),
                ("crop", p.doCenterCrop ? .object([("height", .int(p.cropHeight)), ("width", .int(p.cropWidth))]) : .null),
                ("rescale", p.doRescale ? .double(p.rescaleFactor) : .null),
                ("mean", p.doNormalize ? .array(p.imageMean.map { .double($0) }) : .null),
                ("std", p.doNormalize ? .array(p.imageStd.map { .double($0) }) : .null),
            ])
        }
        let tokenizer: JSON = optional(s.tokenizer) { t in
            .object([("kind", .string(t.kind)), ("files", .array(t.files.map { .string($0) })),
                     ("vocab_size", optional(t.vocabularySize) { .int($0) }), ("class", optional(t.tokenizerClass) { .string($0) }),
                     ("max_length", optional(t.maxLength) { .int($0) })])
        }
        return [
            ("model", .string(model)),
            ("path", .string(s.folder.path)),
            ("architecture", optional(s.architectures.first ?? s.modelType) { .string($0) }),
            ("model_type", optional(s.modelType) { .string($0) }),
            ("parameters", optional(s.parameters) { .int($0) }),
            ("tensors", .int(s.tensors)),
            ("dtypes", .object(s.dtypes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("files", .array(s.files.map { .object([("name", .string($0.name)), ("size", .int(Int($0.size)))]) })),
            ("size", .int(Int(s.files.reduce(0) { $0 + $1.size }))),
            ("preprocessing", preprocessing),
            ("tokenizer", tokenizer),
            ("problems", .array(s.problems.map { .string($0) })),
        ]
    }

    /// Table cells in human units; JSON for the nested parts.
    private func tableCell(_ key: String, _ value: JSON, _ s: ModelSummary) -> String {
        switch key {
        case "parameters": return s.parameters.map { String(format: "%d (%.1fM)", $0, Double($0) / 1e6) } ?? "?"
        case "size": return formatBytes(s.files.reduce(0) { $0 + $1.size })
        case "files": return s.files.map { "\($0.name) \(formatBytes($0.size))" }.joined(separator: ", ")
        case "problems": return s.problems.isEmpty ? "none" : s.problems.joined(separator: "; ")
        case "dtypes": return s.dtypes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        case "preprocessing":
            guard let p = s.preprocessing else { return "none" }
            var parts: [String] = []
            if p.doResize {
                switch p.size {
                case let .shortestEdge(edge, longest): parts.append("resize shortest edge \(edge)" + (longest.map { " (longest \($0))" } ?? ""))
                case let .exact(height, width): parts.append("resize to \(width)×\(height)")
                }
                parts[parts.count - 1] += " \(p.resample)"
            }
            if p.doCenterCrop { parts.append("center crop \(p.cropWidth)×\(p.cropHeight)") }
            if p.doRescale { parts.append("rescale \(p.rescaleFactor)") }
            if p.doNormalize { parts.append("mean \(p.imageMean) std \(p.imageStd)") }
            return parts.joined(separator: ", ")
        case "tokenizer":
            guard let t = s.tokenizer else { return "none" }
            return "\(t.kind) (\(t.files.joined(separator: " + ")))" + (t.vocabularySize.map { ", vocabulary \($0)" } ?? "")
                + (t.tokenizerClass.map { ", \($0)" } ?? "") + (t.maxLength.map { ", max length \($0)" } ?? "")
        default:
            if case .string(let text) = value { return text }
            var text = ""
            value.write(into: &text)
            return text
        }
    }
}
