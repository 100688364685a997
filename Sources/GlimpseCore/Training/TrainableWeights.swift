/// A checkpoint's floating-point tensors copied into memory training owns and may change,
/// served as a `WeightStore`: a model built on it (with its ordinary initialiser, the same
/// model as for inference) reads these copies, and an optimizer updating `parameters`
/// updates the model. Inference on a memory-mapped store is untouched by any of this.
public final class TrainableWeights: WeightStore {
    public let entries: [String: TensorEntry]
    /// The trainable tensors by name, sorted by name (fp32, writable).
    public let parameters: [(name: String, tensor: Tensor)]

    /// Copies every floating-point tensor of `store` (fp16/bf16 widened to fp32); other
    /// entries (integer buffers) are passed through.
    public init(copying store: some WeightStore) throws {
        var entries = store.entries
        var parameters: [(name: String, tensor: Tensor)] = []
        for name in store.names {
            guard let entry = store.entries[name], [.f32, .f16, .bf16, .f64].contains(entry.dtype) else { continue }
            let owned = try store.tensor(name).copy()
            entries[name] = TensorEntry(dtype: .f32, shape: owned.shape, bytes: UnsafeRawPointer(owned.data),
                                        owner: owned, file: entry.file)
            parameters.append((name, owned))
        }
        self.entries = entries
        self.parameters = parameters
    }

    /// The parameter `name`, nil if there is none.
    public func parameter(_ name: String) -> Tensor? { parameters.first { $0.name == name }?.tensor }
}
