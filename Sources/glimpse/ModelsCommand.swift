import ArgumentParser
import Foundation
import Glimpse

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models in the Hugging Face cache (shared with Python's huggingface_hub).",
        discussion: """
        One object per model: {"model": "ORG/NAME", "revisions": [{"commit": ..., "refs": ["main"], "files": N}], \
        "size": bytes on disk, "architecture": ..., "model_type": ..., "path": ...}. Any of these ids can be given to --model.
        """
    )

    @Option(help: "Cache folder (default: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub); it must exist.")
    var cache: String?

    @Option(help: "Output format: jsonl or table.")
    var format: OutputFormat = .jsonl

    func run() throws {
        let root = cache.map { URL(fileURLWithPath: $0) } ?? HubEnvironment().cache
        let models: [CachedModel]
        do { models = try CachedModel.all(in: root) } catch GlimpseError.fileNotFound where cache == nil {
            // The default cache is only made by the first download: nothing there yet.
            FileHandle.standardError.write(Data("no models: the Hugging Face cache folder \(root.path) does not exist yet\n".utf8))
            return
        } catch GlimpseError.fileNotFound(let path, _) {
            throw GlimpseError.fileNotFound(path: path, what: "cache folder (--cache)")
        }
        var output = Output(format: format, columns: ["model", "revisions", "size", "architecture"])
        for model in models {
            let architecture: JSON = model.architecture.map { .string($0) } ?? .null
            switch format {
            case .jsonl:
                output.emit([
                    ("model", .string(model.id)),
                    ("revisions", .array(model.revisions.map { revision in
                        .object([("commit", .string(revision.commit)), ("refs", .array(revision.refs.map { .string($0) })),
                                 ("files", .int(revision.files))])
                    })),
                    ("size", .int(Int(model.sizeOnDisk))), ("architecture", architecture),
                    ("model_type", model.modelType.map { .string($0) } ?? .null), ("path", .string(model.folder.path)),
                ])
            case .table:
                let revisions = model.revisions.map { String($0.commit.prefix(7)) + ($0.refs.isEmpty ? "" : " (\($0.refs.joined(separator: ", ")))") }
                output.emit([("model", .string(model.id)), ("revisions", .string(revisions.joined(separator: "; "))),
                             ("size", .string(formatBytes(model.sizeOnDisk))), ("architecture", .string(model.architecture ?? "?"))])
            }
        }
        output.finish()
        if models.isEmpty {
            FileHandle.standardError.write(Data("no models in the cache folder \(root.path)\n".utf8))
        }
    }
}
