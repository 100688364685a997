import CGlimpseKernels

/// Backward passes of the ops that move rows around — views, gathers (embedding lookup, the
/// class token, the EOT token), concatenation, transposition, patch extraction, position
/// embeddings, mean pooling: each gradient is the same movement in reverse, adding where the
/// forward pass copied one row to several places.
extension GradientTape {
    /// A view (reshape or rows) of an op output: its gradient lands at `offset` in the base's.
    package func recordView(of base: Tensor, view: Tensor, offset: Int) {
        guard let rb = ref(base), case .node = rb else { return }
        let count = view.count
        record(output: view) { [unowned self] g in
            let target = self.gradient(rb) + offset
            for i in 0 ..< count { target[i] += g[i] }
        }
    }

    /// out[i] = source[indices[i]] (rows): source gradient rows add the output's.
    package func recordGather(source: Tensor, indices: [Int], output: Tensor) {
        guard let rs = ref(source) else { return }
        let rowSize = source.rowSize
        record(output: output) { [unowned self] g in
            let target = self.gradient(rs)
            for (i, index) in indices.enumerated() {
                let dst = target + index * rowSize, src = g + i * rowSize
                for j in 0 ..< rowSize { dst[j] += src[j] }
            }
        }
    }

    /// Rows stacked: each part gets its slice of the gradient.
    package func recordConcatenation(_ parts: [Tensor], output: Tensor) {
        let refs = parts.map { ref($0) }
        if refs.allSatisfy({ $0 == nil }) { return }
        let counts = parts.map(\.count)
        record(output: output) { [unowned self] g in
            var offset = 0
            for (r, count) in zip(refs, counts) {
                if let r { self.accumulate(r, g + offset, count: count) }
                offset += count
            }
        }
    }
}

/// The transpose of a matrix, as a new tensor.
public func transposed(_ x: Tensor) -> Tensor {
    precondition(x.rank == 2, "transposed: expected a matrix, got \(x.shape)")
    let (rows, cols) = (x.shape[0], x.shape[1])
    let y = Tensor(uninitialized: [cols, rows])
    for r in 0 ..< rows { for c in 0 ..< cols { y.data[c * rows + r] = x.data[r * cols + c] } }
    if let tape = GradientTape.current, let rx = tape.ref(x) {
        tape.record(output: y) { [unowned tape] g in
            let dx = tape.gradient(rx)
            for r in 0 ..< rows { for c in 0 ..< cols { dx[r * cols + c] += g[c * rows + r] } }
        }
    }
    return y
}

/// The mean of each sequence's rows of packed `x` [Σ lengths, d]: [sequences, d] (mean pooling
/// of token states, as sentence encoders do).
public func meanPooled(_ x: Tensor, sequences: [Range<Int>]) -> Tensor {
    let d = x.rowSize
    let y = Tensor(zeros: [sequences.count, d])
    for (s, range) in sequences.enumerated() where !range.isEmpty {
        let out = y.data + s * d, scale = 1 / Float(range.count)
        for row in range { for j in 0 ..< d { out[j] += x.data[row * d + j] } }
        for j in 0 ..< d { out[j] *= scale }
    }
    if let tape = GradientTape.current, let rx = tape.ref(x) {
        tape.record(output: y) { [unowned tape] g in
            let dx = tape.gradient(rx)
            for (s, range) in sequences.enumerated() where !range.isEmpty {
                let scale = 1 / Float(range.count)
                for row in range { for j in 0 ..< d { dx[row * d + j] += scale * g[s * d + j] } }
            }
        }
    }
    return y
}

/// Adds position embeddings `table` [positions, d] to each packed sequence of `tokens`
/// [Σ lengths, d] in place, position 0 at each sequence's first row (a text tower's input).
package func addPositionEmbeddingsInPlace(_ tokens: Tensor, _ table: Tensor, sequences: [Range<Int>]) {
    let tape = GradientTape.current, rt = tape?.ref(tokens), rp = tape?.ref(table)
    let d = tokens.rowSize
    for range in sequences {
        gl_add(tokens.data + range.lowerBound * d, table.data, range.count * d)
    }
    guard let tape, rt != nil || rp != nil else { return }
    let count = tokens.count
    tape.record(output: tokens) { [unowned tape] g in
        if let rt { tape.accumulate(rt, g, count: count) }
        if let rp {
            for range in sequences { tape.accumulate(rp, g + range.lowerBound * d, count: range.count * d) }
        }
    }
}

/// A ViT's input tokens: for each of `batch` images, the class token then its patch rows of
/// `patches` [batch·(n−1), d], plus position embeddings `positions` [n, d]: [batch·n, d].
package func classTokenSequences(patches: Tensor, classToken: Tensor, positions: Tensor, batch: Int) -> Tensor {
    let d = classToken.count, n = positions.shape[0]
    precondition(patches.count == batch * (n - 1) * d, "classTokenSequences: \(patches.shape) for \(batch) × \(n) positions")
    let tokens = Tensor(uninitialized: [batch * n, d])
    for b in 0 ..< batch {
        let out = tokens.data + b * n * d
        for j in 0 ..< d { out[j] = classToken.data[j] + positions.data[j] }
        let src = patches.data + b * (n - 1) * d
        for i in 0 ..< (n - 1) * d { out[d + i] = src[i] + positions.data[d + i] }
    }
    if let tape = GradientTape.current {
        let rp = tape.ref(patches), rc = tape.ref(classToken), rpos = tape.ref(positions)
        if rp != nil || rc != nil || rpos != nil {
            tape.record(output: tokens) { [unowned tape] g in
                for b in 0 ..< batch {
                    let row = g + b * n * d
                    if let rc { tape.accumulate(rc, row, count: d) }
                    if let rpos { tape.accumulate(rpos, row, count: n * d) }
                    if let rp { tape.accumulate(rp, row + d, count: (n - 1) * d, at: b * (n - 1) * d) }
                }
            }
        }
    }
    return tokens
}
