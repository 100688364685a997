import Foundation
import GlimpseCore

/// A model folder in the Hugging Face layout: config.json, weights, tokenizer and
/// preprocessor files side by side.
public struct Checkpoint: Sendable {
    public let folder: URL
    /// The precision models built from it compute their linear layers in (see `Precision`).
    public var precision: Precision = .fp32

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

    /// What kind of model the folder holds: config.json's `model_type` ("clip", "blip", "bert",
    /// "owlvit", …), or "open_clip" for an open_clip folder (open_clip_config.json, no config.json).
    public func modelType() throws -> String {
        if !exists("config.json") && exists("open_clip_config.json") { return "open_clip" }
        return try config().string("model_type", default: "clip")
    }

    /// The weights, preferring safetensors: `model.safetensors`, then a sharded index, then a
    /// PyTorch `pytorch_model.bin` (read without Python; its pickle cannot run code).
    /// Models built on them pack their linear layers at `precision`.
    public func weights() throws -> WeightStore {
        if exists("model.safetensors") { return try atPrecision(SafetensorsFile(path: file("model.safetensors").path)) }
        if exists("model.safetensors.index.json") {
            return try atPrecision(ShardedSafetensors(indexPath: file("model.safetensors.index.json").path))
        }
        if exists("pytorch_model.bin") { return try atPrecision(TorchCheckpointFile(path: file("pytorch_model.bin").path)) }
        throw GlimpseError.fileNotFound(path: folder.path, what: "weights (model.safetensors, model.safetensors.index.json or pytorch_model.bin) in model folder")
    }

    /// `store` with this checkpoint's precision.
    func atPrecision(_ store: WeightStore) -> WeightStore { PrecisionWeights(store, precision: precision) }
}
