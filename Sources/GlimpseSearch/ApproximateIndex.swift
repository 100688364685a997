#if canImport(CFaissShim)
import CFaissShim
import Foundation

/// Approximate nearest-neighbour search over a library snapshot through FAISS (what
/// clip-retrieval uses): an inner-product index — HNSW by default — over the embeddings of the
/// snapshot's files, row i being `snapshot.files[i]`. Exact search is one matrix product and
/// fast to about a million photos on one machine; past that, or for many queries a second, an
/// approximate index answers in far less time at a measured recall (see `recall(at:)`).
public final class ApproximateIndex: @unchecked Sendable {
    public let snapshot: LibrarySnapshot
    public let description: String
    private let handle: OpaquePointer

    /// Builds the index described by a FAISS factory string ("HNSW32,Flat", "IVF1024,Flat", …).
    public init(snapshot: LibrarySnapshot, description: String = "HNSW32,Flat") throws {
        self.snapshot = snapshot
        self.description = description
        let d = snapshot.model.dimension
        var rows = [Float](repeating: 0, count: snapshot.files.count * d)
        if let matrix = snapshot.embeddings.values {
            rows.withUnsafeMutableBufferPointer { out in
                for (i, file) in snapshot.files.enumerated() {
                    (out.baseAddress! + i * d).update(from: matrix + file.slot * d, count: d)
                }
            }
        }
        var out: OpaquePointer?
        try Self.check("building a \(description) index") { error, size in
            gl_ann_build(description, Int32(d), Int64(snapshot.files.count), rows, &out, error, size)
        }
        guard let out else { throw GlimpseError.invalidArgument("FAISS returned no index") }
        handle = out
    }

    /// Loads an index written by `save(to:)`; its rows must be the snapshot's files.
    init(loading path: String, snapshot: LibrarySnapshot, description: String) throws {
        self.snapshot = snapshot
        self.description = description
        var out: OpaquePointer?
        try Self.check("reading \(path)") { gl_ann_load(path, &out, $0, $1) }
        guard let out else { throw GlimpseError.invalidFile(path: path, reason: "holds no FAISS index") }
        guard gl_ann_count(out) == Int64(snapshot.files.count), Int(gl_ann_dimension(out)) == snapshot.model.dimension else {
            let found = "\(gl_ann_count(out)) rows of \(gl_ann_dimension(out))"
            gl_ann_free(out)
            throw GlimpseError.invalidFile(path: path, reason: "holds \(found), not the library's \(snapshot.files.count) of \(snapshot.model.dimension)")
        }
        handle = out
    }

    deinit { gl_ann_free(handle) }

    /// Writes the index to `path` (FAISS's own format).
    public func save(to path: String) throws {
        try Self.check("writing \(path)") { gl_ann_save(handle, path, $0, $1) }
    }

    /// Sets a search parameter: `efSearch` (HNSW) or `nprobe` (IVF); more is slower and closer.
    public func set(_ name: String, _ value: Double) throws {
        try Self.check("setting \(name)") { gl_ann_set(handle, name, value, $0, $1) }
    }

    /// The best `query.top` files for each query, best first, with their inner products. The
    /// `under` filter is applied to the candidates FAISS returns (up to 10 × top of them).
    public func search(_ queries: [SearchQuery], clip: CLIP?) throws -> [[SearchHit]] {
        var results: [[SearchHit]] = []
        for query in queries {
            let vector = try query.vector(clip: clip, snapshot: snapshot)
            let k = min(snapshot.files.count, query.under == nil ? query.top : query.top * 10)
            guard k > 0 else { results.append([]); continue }
            var scores = [Float](repeating: 0, count: k), labels = [Int64](repeating: -1, count: k)
            try Self.check("searching") { gl_ann_search(handle, 1, vector, Int32(k), &scores, &labels, $0, $1) }
            let mask = query.under.map { snapshot.allowedRows(under: $0) }
            var hits: [SearchHit] = []
            for (score, label) in zip(scores, labels) where label >= 0 && Int(label) < snapshot.files.count {
                let file = snapshot.files[Int(label)]
                if let mask, !mask[file.slot] { continue }
                hits.append(SearchHit(file: file, score: score))
                if hits.count == query.top { break }
            }
            results.append(hits)
        }
        return results
    }

    /// Recall@k of this index against exact search: the share of the exact top k found by the
    /// approximate top k, averaged over `queries` query vectors.
    public func recall(at k: Int, queries: [[Float]]) throws -> Double {
        guard !queries.isEmpty else { return 1 }
        let asked = queries.map { SearchQuery(terms: [(.embedding($0), 1)], top: k) }
        let exact = try snapshot.search(asked, clip: nil)
        let approximate = try search(asked, clip: nil)
        var found = 0, total = 0
        for (e, a) in zip(exact, approximate) {
            let got = Set(a.map(\.file.slot))
            found += e.filter { got.contains($0.file.slot) }.count
            total += e.count
        }
        return total == 0 ? 1 : Double(found) / Double(total)
    }

    static func check(_ what: String, _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var error = [CChar](repeating: 0, count: 512)
        let status = error.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        guard status == 0 else {
            let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw GlimpseError.invalidArgument("FAISS failed \(what): \(message)")
        }
    }
}
#endif
