import GlimpseCore

/// Files whose embeddings are nearly the same: one connected component of the graph whose
/// edges join files with cosine similarity ≥ the threshold.
public struct DuplicateGroup: Sendable, Equatable {
    /// In path order.
    public var files: [CatalogueFile]
    /// The highest similarity between two of its files.
    public var similarity: Float
}

extension LibrarySnapshot {
    /// Near-duplicate groups (cosine ≥ `threshold`), largest first. Similarities are computed
    /// block against block with matrix products, so memory stays at two blocks of rows and
    /// one block × block score matrix whatever the library's size; the work is n²/2 dot products.
    public func duplicates(threshold: Float, block: Int = 1024) throws -> [DuplicateGroup] {
        guard threshold.isFinite, (-1 ... 1).contains(threshold) else {
            throw GlimpseError.invalidArgument("the duplicate threshold must be a cosine similarity from -1 to 1, got \(threshold)")
        }
        let block = max(1, block)
        let n = files.count, d = model.dimension
        guard n > 1, let matrix = embeddings.values else { return [] }
        var parent = Array(0 ..< n)
        var best = [Float](repeating: -.infinity, count: n)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        // Rows gathered in file order (free slots skipped), one block at a time.
        func gather(_ range: Range<Int>) -> [Float] {
            var out = [Float](repeating: 0, count: range.count * d)
            for (i, file) in range.enumerated() {
                let source = matrix + files[file].slot * d
                out.withUnsafeMutableBufferPointer { ($0.baseAddress! + i * d).update(from: source, count: d) }
            }
            return out
        }
        var scores = [Float](repeating: 0, count: block * block)
        for i0 in stride(from: 0, to: n, by: block) {
            let rowsI = min(block, n - i0)
            let a = gather(i0 ..< i0 + rowsI)
            for j0 in stride(from: i0, to: n, by: block) {
                let rowsJ = min(block, n - j0)
                let b = j0 == i0 ? a : gather(j0 ..< j0 + rowsJ)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        scores.withUnsafeMutableBufferPointer { sp in
                            BLAS.gemm(transB: true, m: rowsI, n: rowsJ, k: d, a: ap.baseAddress!, lda: d,
                                      b: bp.baseAddress!, ldb: d, c: sp.baseAddress!, ldc: rowsJ)
                        }
                    }
                }
                for i in 0 ..< rowsI {
                    for j in (j0 == i0 ? i + 1 : 0) ..< rowsJ where scores[i * rowsJ + j] >= threshold {
                        let x = find(i0 + i), y = find(j0 + j)
                        let s = scores[i * rowsJ + j]
                        if x != y { parent[x] = y; best[y] = max(best[y], best[x], s) } else { best[x] = max(best[x], s) }
                    }
                }
            }
        }
        var groups: [Int: [Int]] = [:]
        for i in 0 ..< n { groups[find(i), default: []].append(i) }
        return groups.filter { $0.value.count > 1 }.map { root, members in
            DuplicateGroup(files: members.map { files[$0] }, similarity: min(best[root], 1))
        }.sorted { ($0.files.count, $1.files[0].fullPath) > ($1.files.count, $0.files[0].fullPath) }
    }
}
