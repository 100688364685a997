import Foundation
import GlimpseCore

/// A library as it was when opened: the catalogued files and their memory-mapped embeddings.
/// Searching it never touches the database; take a new snapshot to see later indexing.
public final class LibrarySnapshot: Sendable {
    public let model: LibraryModel
    public let files: [CatalogueFile]
    public let embeddings: EmbeddingMatrix
    /// For each row of `embeddings`, the index in `files` of the file it belongs to, or -1.
    let owner: [Int32]
    private let byID: [Int64: Int]

    /// Rows scored per matrix product: [queries, block] scores stay small at any library size.
    static let rowsPerProduct = 1 << 16

    public init(model: LibraryModel, files: [CatalogueFile], embeddings: EmbeddingMatrix) throws {
        self.model = model
        self.files = files
        self.embeddings = embeddings
        var owner = [Int32](repeating: -1, count: embeddings.rows)
        var byID: [Int64: Int] = [:]
        for (index, file) in files.enumerated() {
            guard (0 ..< embeddings.rows).contains(file.slot), owner[file.slot] < 0 else {
                throw GlimpseError.invalidFile(path: file.fullPath, reason: "has catalogue slot \(file.slot), outside the embeddings or shared with another file")
            }
            owner[file.slot] = Int32(index)
            if let id = file.id { byID[id] = index }
        }
        self.owner = owner
        self.byID = byID
    }

    public func file(id: Int64) -> CatalogueFile? { byID[id].map { files[$0] } }

    /// The best `query.top` files for each query, best first: the query vectors times the
    /// embeddings matrix, one matrix product per block of rows, kept in a bounded heap.
    /// Texts and images in the queries are embedded with `clip` (not needed for `.file` and
    /// `.embedding` terms).
    public func search(_ queries: [SearchQuery], clip: CLIP?) throws -> [[SearchHit]] {
        let dimension = model.dimension
        let vectors = try queries.map { try $0.vector(clip: clip, snapshot: self) }
        let allowed = queries.map { query in query.under.map { folder in allowedRows(under: folder) } }
        var heaps = queries.map { TopK(capacity: $0.top) }
        guard let matrix = embeddings.values, !queries.isEmpty else { return queries.map { _ in [] } }
        let q = vectors.flatMap { $0 }
        let block = Self.rowsPerProduct
        var scores = [Float](repeating: 0, count: queries.count * min(block, embeddings.rows))
        for start in stride(from: 0, to: embeddings.rows, by: block) {
            let rows = min(block, embeddings.rows - start)
            q.withUnsafeBufferPointer { qp in
                scores.withUnsafeMutableBufferPointer { sp in
                    guard let a = qp.baseAddress, let c = sp.baseAddress else { return }
                    // scores[Q, rows] = queries[Q, d] · embeddings[start ..< start + rows, d]ᵀ
                    BLAS.gemm(transB: true, m: queries.count, n: rows, k: dimension,
                              a: a, lda: dimension, b: matrix + start * dimension, ldb: dimension, c: c, ldc: rows)
                }
            }
            for query in queries.indices {
                let base = query * rows
                for row in 0 ..< rows {
                    let index = owner[start + row]
                    guard index >= 0 else { continue }
                    if let mask = allowed[query], !mask[start + row] { continue }
                    heaps[query].insert(score: scores[base + row], index: Int(index), files: files)
                }
            }
        }
        return heaps.map { $0.sorted(files: files).map { SearchHit(file: files[$0.index], score: $0.score) } }
    }

    /// Rows whose file lies at or under `folder` (an absolute path; "/"-separated).
    func allowedRows(under folder: String) -> [Bool] {
        var prefix = URL(fileURLWithPath: folder).standardizedFileURL.path
        while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
        let resolved = URL(fileURLWithPath: prefix).resolvingSymlinksInPath().path
        var mask = [Bool](repeating: false, count: embeddings.rows)
        for file in files {
            let path = file.fullPath
            mask[file.slot] = [prefix, resolved].contains { p in
                path == p || path.hasPrefix(p == "/" ? p : p + "/")
            }
        }
        return mask
    }
}

/// The `capacity` best (score, file) pairs seen, as a min-heap on score; ties go to the
/// smaller path so that results are in a stable order.
struct TopK {
    let capacity: Int
    private(set) var heap: [(score: Float, index: Int)] = []

    init(capacity: Int) { self.capacity = capacity }

    /// Whether a ranks below b (a is the worse result).
    static func worse(_ a: (score: Float, index: Int), _ b: (score: Float, index: Int), _ files: [CatalogueFile]) -> Bool {
        if a.score != b.score { return a.score < b.score || (a.score.isNaN && !b.score.isNaN) }
        return (files[a.index].root, files[a.index].path) > (files[b.index].root, files[b.index].path)
    }

    mutating func insert(score: Float, index: Int, files: [CatalogueFile]) {
        let item = (score: score, index: index)
        if heap.count < capacity {
            heap.append(item)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.worse(heap[child], heap[parent], files) else { break }
                heap.swapAt(child, parent); child = parent
            }
        } else if let root = heap.first, Self.worse(root, item, files) {
            heap[0] = item
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, Self.worse(heap[left], heap[smallest], files) { smallest = left }
                if right < heap.count, Self.worse(heap[right], heap[smallest], files) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest); parent = smallest
            }
        }
    }

    func sorted(files: [CatalogueFile]) -> [(score: Float, index: Int)] {
        heap.sorted { Self.worse($1, $0, files) }
    }
}
