/// Reverse-mode automatic differentiation over the ordinary tensor ops.
///
/// There is no training copy of any op or model: the ops (`linear`, `layerNorm`, `attention`,
/// …) look for a tape set for the current call (`tape.record { … }`) and, only when there is
/// one and one of their inputs is being differentiated, append a node holding what their
/// backward pass needs. Without a tape an op costs one task-local read more than before.
///
/// Which tensors are differentiated: leaves registered with `watch` (training parameters,
/// test inputs) — found by their memory, so a reshaped or row view of a parameter (a conv
/// kernel seen as a matrix, one third of a fused qkv) is the parameter — and every output of
/// a recorded op, found by object identity. An op that changes a tensor in place (`addInPlace`,
/// `activateInPlace`, `scaleInPlace`) records a new version of it, so the tensor object
/// afterwards stands for the new value; an op never saves a tensor that is later changed in
/// place (the models' residual adds only change op outputs no backward pass reads).
///
/// `backward` walks the nodes newest first and drops each node (and with it the activations it
/// saved) and its output gradient as soon as it has run, so activation memory is released as
/// the backward pass proceeds. Gradients of leaves accumulate until `zeroGradients()`.
public final class GradientTape: @unchecked Sendable {
    /// The tape recording the current call, if any.
    @TaskLocal package static var current: GradientTape?

    /// A differentiated value as an op sees its input: a node's output, or part of a leaf.
    package enum Ref {
        case node(Int)
        case leaf(Int, offset: Int)
    }

    private final class WeakTensor {
        weak var tensor: Tensor?
        init(_ tensor: Tensor) { self.tensor = tensor }
    }

    private struct Leaf {
        let tensor: Tensor
        let start: UnsafeMutablePointer<Float>
        let gradient: Tensor
    }

    /// A recorded op: its output's element count and what turns the output gradient into
    /// gradients of its inputs (nil once run).
    private struct Node {
        let count: Int
        var backward: ((UnsafeMutablePointer<Float>) -> Void)?
    }

    private var leaves: [Leaf] = []
    private var leafByStart: [UnsafeMutablePointer<Float>: Int] = [:]
    private var outputs: [ObjectIdentifier: (WeakTensor, Int)] = [:]
    private var nodes: [Node] = []
    private var nodeGradients: [Int: Tensor] = [:]

    public init() {}

    /// Differentiates with respect to `tensor` (a parameter or an input), by its memory: views
    /// of it count as it. Watching the same memory twice is a no-op.
    public func watch(_ tensor: Tensor) {
        guard leafByStart[tensor.data] == nil else { return }
        leafByStart[tensor.data] = leaves.count
        leaves.append(Leaf(tensor: tensor, start: tensor.data, gradient: Tensor(zeros: tensor.shape)))
    }

    /// Runs `body` with this tape recording every differentiable op on watched tensors.
    public func record<R>(_ body: () throws -> R) rethrows -> R {
        try Self.$current.withValue(self) { try body() }
    }

    /// The accumulated gradient of a watched tensor (shape of the tensor), nil if not watched.
    public func gradient(of tensor: Tensor) -> Tensor? {
        leafByStart[tensor.data].map { leaves[$0].gradient }
    }

    /// Sets every leaf gradient to zero (before the next accumulation of a training step).
    public func zeroGradients() {
        for leaf in leaves { leaf.gradient.data.update(repeating: 0, count: leaf.gradient.count) }
    }

    /// Forgets the recorded ops (their saved activations are released); leaves stay watched.
    public func reset() {
        nodes.removeAll()
        nodeGradients.removeAll()
        outputs.removeAll()
    }

    /// Back-propagates from `output` (a recorded op's result), seeded with `seed` (the
    /// gradient of some scalar with respect to `output`; ones when nil, the usual case of a
    /// scalar loss), accumulating into the leaves' gradients. The recorded ops are consumed.
    public func backward(from output: Tensor, seed: Tensor? = nil) throws {
        guard case .node(let id)? = ref(output) else {
            throw GlimpseError.invalidArgument("backward: the tensor of shape \(output.shape) was not produced by an op recorded on this tape")
        }
        if let seed, seed.count != output.count {
            throw GlimpseError.invalidArgument("backward: seed gradient of shape \(seed.shape) for an output of shape \(output.shape)")
        }
        let start = Tensor(zeros: output.shape)
        if let seed { start.data.update(from: seed.data, count: seed.count) } else { start.data.update(repeating: 1, count: start.count) }
        nodeGradients[id] = start
        outputs.removeAll()
        for index in stride(from: id, through: 0, by: -1) {
            let step = nodes[index].backward
            nodes[index].backward = nil
            guard let gradient = nodeGradients.removeValue(forKey: index), let step else { continue }
            step(gradient.data)
        }
        reset()
    }

    // MARK: - For ops

    /// What `tensor` is on this tape: an op output, a watched leaf (or a view inside one), or
    /// nil when it is a constant for differentiation.
    package func ref(_ tensor: Tensor) -> Ref? {
        if let (box, id) = outputs[ObjectIdentifier(tensor)], box.tensor === tensor { return .node(id) }
        if let index = leafByStart[tensor.data] { return .leaf(index, offset: 0) }
        for (index, leaf) in leaves.enumerated() {
            let offset = leaf.start.distance(to: tensor.data)
            if offset >= 0 && offset + tensor.count <= leaf.tensor.count { return .leaf(index, offset: offset) }
        }
        return nil
    }

    /// Records an op whose output is `output` (a new tensor, or a new version of one changed
    /// in place). `backward` receives the output gradient and adds into its inputs'
    /// gradients through `gradient(_:)`.
    package func record(output: Tensor, backward: @escaping (UnsafeMutablePointer<Float>) -> Void) {
        outputs[ObjectIdentifier(output)] = (WeakTensor(output), nodes.count)
        nodes.append(Node(count: output.count, backward: backward))
    }

    /// Where to add the gradient of `ref` (`count` elements, zero when first asked for). Only
    /// valid inside a backward closure.
    package func gradient(_ ref: Ref) -> UnsafeMutablePointer<Float> {
        switch ref {
        case .leaf(let index, let offset):
            return leaves[index].gradient.data + offset
        case .node(let id):
            if let existing = nodeGradients[id] { return existing.data }
            let fresh = Tensor(zeros: [nodes[id].count])
            nodeGradients[id] = fresh
            return fresh.data
        }
    }

    /// Adds `count` values from `source` into the gradient of `ref`, from element `offset` on.
    package func accumulate(_ ref: Ref, _ source: UnsafePointer<Float>, count: Int, at offset: Int = 0, scale: Float = 1) {
        let target = gradient(ref) + offset
        if scale == 1 { for i in 0 ..< count { target[i] += source[i] } }
        else { for i in 0 ..< count { target[i] += scale * source[i] } }
    }
}
