import Foundation
import GlimpseCore

/// A model folder in the Hugging Face layout: config.json, weights, tokenizer and
/// preprocessor files side by side.
public struct Checkpoint: Sendable {
    public let folder: URL

    /// Checks that `path` is an existing folder; the error says what was looked for.
    public init(folder path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw GlimpseError.fileNotFound(path: path, what: "model folder")
        }
        guard isDirectory.boolValue else {
            throw GlimpseError.invalidArgument("\(path) is a file; --model takes a model folder (with config.json and weights)")
        }
        folder = URL(fileURLWithPath: path, isDirectory: true)
    }

    public func file(_ name: String) -> URL { folder.appendingPathComponent(name) }
    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    public func config() throws -> ConfigReader { try ConfigReader(contentsOf: file("config.json")) }

    /// The weights, preferring safetensors: `model.safetensors`, then a sharded index.
    public func weights() throws -> WeightStore {
        if exists("model.safetensors") { return try SafetensorsFile(path: file("model.safetensors").path) }
        if exists("model.safetensors.index.json") {
            return try ShardedSafetensors(indexPath: file("model.safetensors.index.json").path)
        }
        if exists("pytorch_model.bin") {
            throw GlimpseError.unsupported("\(file("pytorch_model.bin").path): PyTorch .bin checkpoints are not supported yet; convert to model.safetensors")
        }
        throw GlimpseError.fileNotFound(path: folder.path, what: "weights (model.safetensors or model.safetensors.index.json) in model folder")
    }
}
