import GlimpseBase

/// The number format the linear layers of a model compute in, chosen when it is loaded.
///
/// - `fp32`: the default and the reference: every parity test holds in it.
/// - `bf16`: weights and activations rounded to bfloat16, sums in fp32. Half the weight
///   bytes; AVX-512 BF16 dot products where the CPU has them.
/// - `int8`: weights quantized per output channel and activations per row (symmetric), sums
///   exact in int32, rescaled to fp32. A quarter of the weight bytes; VNNI where present.
///
/// Embeddings, layer norms, attention's own products and the small heads (projections into
/// the joint space, ITM and detection heads) stay fp32 in every mode: they are a small share
/// of the time and most of the sensitivity.
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    case fp32, bf16, int8

    public var description: String { rawValue }

    /// Parses a user's spelling ("fp32", "bf16", "int8"; also "f32", "bfloat16", "i8").
    public init(parsing text: String) throws {
        switch text.lowercased() {
        case "fp32", "f32", "float32": self = .fp32
        case "bf16", "bfloat16": self = .bf16
        case "int8", "i8", "s8": self = .int8
        default:
            throw GlimpseError.invalidArgument("precision '\(text)': expected fp32, bf16 or int8")
        }
    }
}

/// A weight store that asks its linear layers to be packed at `precision` (see `Linear`).
public struct PrecisionWeights: WeightStore {
    public let base: WeightStore
    public let precision: Precision?

    public init(_ base: WeightStore, precision: Precision) {
        self.base = base
        self.precision = precision
    }

    public var entries: [String: TensorEntry] { base.entries }
}
