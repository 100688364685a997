import Foundation
import GlimpseCore

/// Saving what training produced, in the Hugging Face layout transformers' `from_pretrained`
/// and Glimpse both load: `model.safetensors` (every tensor of the source checkpoint under its
/// own name and shape, floating-point ones as fp32), `config.json` (the source's, with the
/// dtype set to float32) and the tokenizer and preprocessor files copied beside them. The
/// optimizer state goes to `training_state.safetensors` so a run can resume bit-identically.
extension ParameterTrainer {
    /// Files a model folder keeps beside the weights that a saved checkpoint carries over.
    public static let companionFiles = [
        "preprocessor_config.json", "processor_config.json", "tokenizer.json", "tokenizer_config.json",
        "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "bpe_simple_vocab_16e6.txt.gz",
        "vocab.txt", "generation_config.json",
    ]
    /// The training state's file name in a checkpoint folder.
    public static let stateFile = "training_state.safetensors"

    /// Writes the current parameters as a model folder at `folder` (created), each file
    /// atomically, copying config and companion files from `source`.
    public func saveModel(to folder: String, source: Checkpoint) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let items = try weights.names.map { name -> SafetensorsWriter.Item in
            guard let entry = weights.entries[name] else { throw GlimpseError.missingTensor(name) }
            return try SafetensorsWriter.Item(name: name, entry: entry)
        }
        try SafetensorsWriter(items: items, metadata: ["format": "pt"]).write(to: path(folder, "model.safetensors"))
        try writeConfig(from: source, to: path(folder, "config.json"))
        for name in Self.companionFiles where source.exists(name) {
            let target = path(folder, name)
            guard source.file(name).standardizedFileURL.path != URL(fileURLWithPath: target).standardizedFileURL.path else { continue }
            let data = try InputFile.read(source.file(name).path, what: name, limit: Limits.tokenizerFileBytes)
            try data.write(to: URL(fileURLWithPath: target), options: .atomic)
        }
    }

    /// The source's config.json with every `dtype` (and older `torch_dtype`) set to float32, the
    /// precision the weights are now saved in. Edited as text, not re-serialised: a JSON round
    /// trip would write 1.0 as 1, which transformers' typed configs refuse for float fields.
    private func writeConfig(from source: Checkpoint, to target: String) throws {
        let path = source.file("config.json").path
        let bytes = try InputFile.read(path, what: "config.json", limit: Limits.configFileBytes)
        guard (try? JSONSerialization.jsonObject(with: bytes)) is [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "not a JSON object")
        }
        var text = try InputFile.decodeText(bytes, path: path, what: "config.json")
        let pattern = #""(torch_)?dtype"\s*:\s*"[A-Za-z0-9_]*""#
        if text.range(of: pattern, options: .regularExpression) != nil {
            text = text.replacingOccurrences(of: pattern, with: "\"$1dtype\": \"float32\"", options: .regularExpression)
        } else if let brace = text.firstIndex(of: "{") {
            text.insert(contentsOf: "\n  \"dtype\": \"float32\",", at: text.index(after: brace))
        }
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "could not set its dtype to float32")
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
    }

    /// Where a run stands besides the parameters: the data position and the seed.
    public struct Position: Sendable, Equatable {
        /// Steps taken so far over the whole run: step i reads the i-th group of batches of the
        /// run's seeded order, so this and the seed are the data position.
        public var steps: Int
        public var seed: UInt64
        public init(steps: Int, seed: UInt64) { self.steps = steps; self.seed = seed }
    }

    /// Writes the optimizer state (AdamW moments per trained parameter, its step), the values of
    /// the objective's own parameters (`extra`, which the model folder does not hold) and the
    /// run position to `folder/training_state.safetensors`.
    public func saveState(to folder: String, position: Position) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var items: [SafetensorsWriter.Item] = []
        for (index, parameter) in trained.enumerated() {
            items.append(.init(name: "exp_avg/" + parameter.name, tensor: optimizer.firstMoments[index]))
            items.append(.init(name: "exp_avg_sq/" + parameter.name, tensor: optimizer.secondMoments[index]))
        }
        for parameter in extra { items.append(.init(name: "parameter/" + parameter.name, tensor: parameter.tensor)) }
        let metadata = ["step": String(optimizer.step), "position": String(position.steps), "seed": String(position.seed),
                        "trained": trained.map(\.name).joined(separator: ",")]
        try SafetensorsWriter(items: items, metadata: metadata).write(to: path(folder, Self.stateFile))
    }

    /// Restores the optimizer from `folder/training_state.safetensors` (written by `saveState`
    /// for the same trained parameters) and returns the run position it records.
    public func restoreState(from folder: String) throws -> Position {
        let file = path(folder, Self.stateFile)
        let state = try SafetensorsFile(path: file)
        func invalid(_ reason: String) -> GlimpseError { .invalidFile(path: file, reason: reason) }
        guard let step = state.metadata["step"].flatMap(Int.init), step >= 0,
              let steps = state.metadata["position"].flatMap(Int.init), steps >= 0,
              let seed = state.metadata["seed"].flatMap(UInt64.init) else {
            throw invalid("metadata lacks a valid step, position or seed")
        }
        let names = trained.map(\.name).joined(separator: ",")
        guard state.metadata["trained"] == names else {
            throw invalid("the state is for other trained parameters than this run's (was another --freeze given?)")
        }
        let shapes = trained.map(\.tensor.shape)
        let first = try trained.indices.map { try state.tensor("exp_avg/" + trained[$0].name, shape: shapes[$0]).copy() }
        let second = try trained.indices.map { try state.tensor("exp_avg_sq/" + trained[$0].name, shape: shapes[$0]).copy() }
        let values = try extra.map { try state.tensor("parameter/" + $0.name, shape: $0.tensor.shape) }
        try optimizer.restore(step: step, firstMoments: first, secondMoments: second)
        for (parameter, value) in zip(extra, values) {
            parameter.tensor.withUnsafeMutableBufferPointer { target in
                for i in 0 ..< target.count { target[i] = value.data[i] }
            }
        }
        return Position(steps: steps, seed: seed)
    }

    private func path(_ folder: String, _ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
}
