import GlimpseCore

/// The self-attention key/value cache of incremental decoding: for each layer, each slot
/// (a sequence being generated, e.g. one beam) keeps the keys and values of its past
/// tokens, so a step computes only the new token's projections.
///
/// Storage per layer is [slots · capacity, hidden]; slot s owns rows s·capacity ..< s·capacity + length.
/// All slots advance together (a batch of one prompt length).
///
/// Mutable and not `Sendable`: a cache belongs to the one generation that made it and is
/// advanced by it step by step, so the compiler keeps it from being shared across tasks.
public final class BERTCache: DecoderCache {
    public private(set) var slots: Int
    public let capacity: Int
    public private(set) var length = 0
    /// The image each slot's text attends to.
    public private(set) var imageOf: [Int]
    private var keys: [Tensor]
    private var values: [Tensor]
    private let width: Int

    public init(layers: Int, hidden: Int, imageOf: [Int], capacity: Int) {
        slots = imageOf.count
        self.capacity = capacity
        self.imageOf = imageOf
        width = hidden
        keys = (0 ..< layers).map { _ in Tensor(zeros: [imageOf.count * capacity, hidden]) }
        values = (0 ..< layers).map { _ in Tensor(zeros: [imageOf.count * capacity, hidden]) }
    }

    /// Stores the new tokens' keys/values (packed [slots · step, hidden]) after the cached ones.
    func write(layer l: Int, keys newKeys: Tensor, values newValues: Tensor, step: Int) {
        for s in 0 ..< slots {
            let new = s * step ..< (s + 1) * step
            keys[l].replaceRows(startingAt: s * capacity + length, with: newKeys.rows(new))
            values[l].replaceRows(startingAt: s * capacity + length, with: newValues.rows(new))
        }
    }

    func memory(layer l: Int, step: Int) -> AttentionMemory {
        AttentionMemory(keys: keys[l], values: values[l],
                        sequences: (0 ..< slots).map { $0 * capacity ..< $0 * capacity + length + step })
    }

    func advance(_ step: Int) { length += step }

    /// Keeps slot `sources[i]` as the new slot i: beam search's reordering, or dropping
    /// finished sequences. A source may appear several times.
    public func reorder(_ sources: [Int]) {
        precondition(sources.allSatisfy { (0 ..< slots).contains($0) }, "cache reorder: slot out of range")
        // Each slot's block of `capacity` rows is one row of the storage seen as [slots, capacity · hidden].
        func gather(_ old: Tensor) -> Tensor {
            old.reshaped([slots, capacity * width]).gatherRows(sources).reshaped([sources.count * capacity, width])
        }
        keys = keys.map(gather)
        values = values.map(gather)
        imageOf = sources.map { imageOf[$0] }
        slots = sources.count
    }
}
