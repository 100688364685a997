import GlimpseCore

/// The self-attention key/value cache of incremental decoding: for each layer, each slot
/// (a sequence being generated, e.g. one beam) keeps the keys and values of its past
/// tokens, so a step computes only the new token's projections.
///
/// Storage per layer is [slots · capacity, hidden]; slot s owns rows s·capacity ..< s·capacity + length.
/// All slots advance together (a batch of one prompt length).
public final class BERTCache: @unchecked Sendable {
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
            let destination = (s * capacity + length) * width
            (keys[l].data + destination).update(from: newKeys.data + s * step * width, count: step * width)
            (values[l].data + destination).update(from: newValues.data + s * step * width, count: step * width)
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
        let used = length * width
        func gather(_ old: Tensor) -> Tensor {
            let fresh = Tensor(zeros: [sources.count * capacity, width])
            for (i, s) in sources.enumerated() {
                (fresh.data + i * capacity * width).update(from: old.data + s * capacity * width, count: used)
            }
            return fresh
        }
        keys = keys.map(gather)
        values = values.map(gather)
        imageOf = sources.map { imageOf[$0] }
        slots = sources.count
    }
}
