#if canImport(CFaissShim)
import Foundation
import XCTest
@testable import GlimpseSearch

/// FAISS search agrees with exact search: recall@10 ≥ 0.95 on clustered vectors (real
/// embeddings cluster too), with the top result and scores equal where both find a file.
final class ApproximateSearchTests: XCTestCase {
    /// A snapshot of `count` unit vectors around `clusters` random centres, written as a library.
    func syntheticSnapshot(count: Int, dimension: Int, clusters: Int, seed: UInt64) throws -> (LibrarySnapshot, [[Float]]) {
        var state = seed
        func gaussian() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let u1 = max(Double(state >> 11) / Double(1 << 53), 1e-12)
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let u2 = Double(state >> 11) / Double(1 << 53)
            return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
        func unit(_ v: [Float]) -> [Float] { let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); return v.map { $0 / n } }
        let centres = (0 ..< clusters).map { _ in unit((0 ..< dimension).map { _ in gaussian() }) }
        let rows = (0 ..< count).map { i in unit(zip(centres[i % clusters], (0 ..< dimension).map { _ in gaussian() * 0.08 }).map { $0 + $1 }) }
        let folder = try LibraryFixtures.temporaryFolder(self)
        let store = try EmbeddingStore(path: folder + "/embeddings.f32", dimension: dimension)
        try store.write(rows, at: Array(0 ..< count))
        let files = (0 ..< count).map { i in
            CatalogueFile(id: Int64(i + 1), root: "/synthetic", path: "p\(i).jpg", size: 1, mtime: 0, sha256: "\(i)", width: 1, height: 1, takenAt: nil, slot: i)
        }
        let model = LibraryModel(id: "synthetic", revision: nil, fingerprint: "synthetic", dimension: dimension)
        let snapshot = try LibrarySnapshot(model: model, files: files,
                                           embeddings: EmbeddingMatrix(path: folder + "/embeddings.f32", rows: count, dimension: dimension))
        let queries = (0 ..< 100).map { i in unit(zip(rows[(i * 37) % count], (0 ..< dimension).map { _ in gaussian() * 0.05 }).map { $0 + $1 }) }
        return (snapshot, queries)
    }

    func testHNSWRecallAtTenAgainstExact() throws {
        let (snapshot, queries) = try syntheticSnapshot(count: 5000, dimension: 64, clusters: 50, seed: 7)
        let index = try ApproximateIndex(snapshot: snapshot, description: "HNSW32,Flat")
        try index.set("efSearch", 128)
        let recall = try index.recall(at: 10, queries: queries)
        print("HNSW32 recall@10 = \(recall)")
        XCTAssertGreaterThanOrEqual(recall, 0.95)

        let asked = [SearchQuery(terms: [(.embedding(queries[0]), 1)], top: 10)]
        let exact = try snapshot.search(asked, clip: nil)[0], approximate = try index.search(asked, clip: nil)[0]
        XCTAssertEqual(approximate.first?.file, exact.first?.file)
        for hit in approximate {
            if let same = exact.first(where: { $0.file == hit.file }) { XCTAssertEqual(hit.score, same.score, accuracy: 1e-4) }
        }
    }

    func testIVFRecallAndUnderFilter() throws {
        let (snapshot, queries) = try syntheticSnapshot(count: 4000, dimension: 32, clusters: 40, seed: 11)
        let index = try ApproximateIndex(snapshot: snapshot, description: "IVF64,Flat")
        try index.set("nprobe", 16)
        XCTAssertGreaterThanOrEqual(try index.recall(at: 10, queries: queries), 0.95)
        let under = try index.search([SearchQuery(terms: [(.embedding(queries[1]), 1)], top: 5, under: "/elsewhere")], clip: nil)[0]
        XCTAssertTrue(under.isEmpty)
    }

    /// The index `glimpse index` builds for a large library (IVF, √n lists) keeps recall@10
    /// at 0.95 or more with its own search parameter.
    func testLargeLibraryRecipeRecall() throws {
        let (snapshot, queries) = try syntheticSnapshot(count: 60_000, dimension: 48, clusters: 300, seed: 5)
        let recipe = ApproximateIndexFile.recipe(count: snapshot.files.count)
        XCTAssertEqual(recipe.description, "IVF256,Flat")
        let index = try ApproximateIndex(snapshot: snapshot, description: recipe.description)
        try index.set(recipe.parameter, recipe.value)
        let recall = try index.recall(at: 10, queries: queries)
        print("\(recipe.description), \(recipe.parameter) \(recipe.value): recall@10 = \(recall)")
        XCTAssertGreaterThanOrEqual(recall, 0.95)
        XCTAssertEqual(ApproximateIndexFile.recipe(count: 1_000_000).description, "IVF1024,Flat")
        XCTAssertEqual(ApproximateIndexFile.recipe(count: 10_000).description, "HNSW32,Flat")
    }

    func testBadFactoryStringIsAnError() throws {
        let (snapshot, _) = try syntheticSnapshot(count: 10, dimension: 8, clusters: 2, seed: 1)
        XCTAssertThrowsError(try ApproximateIndex(snapshot: snapshot, description: "NoSuchIndex99")) { error in
            XCTAssertTrue("\(error)".contains("FAISS failed"), "\(error)")
        }
    }
}
#endif
