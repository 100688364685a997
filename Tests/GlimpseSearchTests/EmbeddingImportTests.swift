import Foundation
import XCTest
@testable import GlimpseSearch

/// `glimpse embed` outputs imported into a library search exactly as a library indexed from
/// the same photos (the independent path: `LibraryIndexer` embeds the files itself).
final class EmbeddingImportTests: XCTestCase {
    /// Fixture photos and seeded pictures in one folder.
    func photos(_ root: String, count: Int = 7) throws -> String {
        let folder = root + "/photos"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["cheetah.jpg", "horse.png", "lion.jpg", "camera.png"] {
            try FileManager.default.copyItem(atPath: LibraryFixtures.image(name), toPath: folder + "/" + name)
        }
        for i in 0 ..< count - 4 { try LibraryFixtures.writePhoto(folder, "p\(i).png", seed: UInt64(300 + i)) }
        return folder
    }

    /// Runs the bulk embed job (`glimpse embed INPUT --out OUT`) through its library API.
    @discardableResult
    func embed(_ input: String, into out: String, shard: DatasetShard = .all, dtype: NPY.DType = .float32,
               chunkSize: Int = 3, model: String = LibraryFixtures.model) throws -> BulkSummary {
        let job = try CLIPEmbedJob(clip: try CLIP(folder: model), kind: .image, dtype: dtype)
        let runner = try BulkRunner(job: job, dataset: try Dataset(paths: [input]), shard: shard,
                                    settings: BulkSettings(batchSize: 2, chunkSize: chunkSize))
        return try runner.run(into: out)
    }

    func indexed(_ root: String, _ photos: String) throws -> PhotoLibrary {
        let library = try PhotoLibrary(folder: root + "/indexed", create: true)
        _ = try LibraryFixtures.index(library, [photos])
        return library
    }

    func queries(_ photos: String) -> [SearchQuery] {
        [SearchQuery(text: "a big cat in the grass", top: 20), SearchQuery(image: photos + "/horse.png", top: 20),
         SearchQuery(text: "a camera", negatives: ["an animal"], top: 3)]
    }

    /// Same paths in the same order, scores within `tolerance`.
    func assertSameResults(_ library: PhotoLibrary, _ reference: PhotoLibrary, _ queries: [SearchQuery],
                           tolerance: Float = 1e-5, line: UInt = #line) throws {
        let clip = try LibraryFixtures.clip()
        let got = try library.snapshot().search(queries, clip: clip)
        let expected = try reference.snapshot().search(queries, clip: clip)
        for (g, e) in zip(got, expected) {
            XCTAssertEqual(g.map(\.file.fullPath), e.map(\.file.fullPath), line: line)
            for (a, b) in zip(g, e) { XCTAssertEqual(a.score, b.score, accuracy: tolerance, a.file.fullPath, line: line) }
        }
    }

    func testImportedLibrarySearchesAsAnIndexedOne() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        try embed(photos, into: root + "/emb")
        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        let summary = try EmbeddingImporter(library: library).importFolders([root + "/emb"])
        XCTAssertEqual(summary.failures.map(\.reason), [])
        XCTAssertEqual([summary.folders, summary.chunks, summary.imported, summary.local, summary.remote], [1, 3, 7, 7, 0])

        let reference = try indexed(root, photos)
        // The library took the model the embed job recorded: the same as indexing records.
        XCTAssertEqual(try library.model().fingerprint, try reference.model().fingerprint)
        XCTAssertEqual(try library.model().dimension, try reference.model().dimension)
        try assertSameResults(library, reference, queries(photos))
        // Local files are catalogued as indexing does: size, time and content hash.
        func facts(_ l: PhotoLibrary) throws -> [String] { try l.catalogue.files().map { "\($0.fullPath) \($0.size) \($0.mtime) \($0.sha256)" } }
        XCTAssertEqual(try facts(library).sorted(), try facts(reference).sorted())
        XCTAssertTrue(try library.catalogue.files().allSatisfy(\.isLocal))
    }

    func testFloat16ShardsImportWithinHalfPrecision() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        try embed(photos, into: root + "/emb", dtype: .float16)
        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        XCTAssertEqual(try EmbeddingImporter(library: library).importFolders([root + "/emb"]).imported, 7)
        // Reference: the indexed embeddings rounded to float16 and normalised again, by hand.
        let reference = try LibraryFixtures.libraryEmbeddings(try indexed(root, photos)).mapValues { row -> [Float] in
            let half = row.map { Float(Float16($0)) }
            let norm = half.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return half.map { $0 / norm }
        }
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(library), reference, tolerance: 1e-6)
    }

    func testShardFoldersImportToTheUnionOnce() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        try embed(photos, into: root + "/shard-0", shard: try DatasetShard(index: 0, count: 2))
        try embed(photos, into: root + "/shard-1", shard: try DatasetShard(index: 1, count: 2))
        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        let first = try EmbeddingImporter(library: library).importFolders([root + "/shard-0", root + "/shard-1", root + "/shard-0"])
        XCTAssertEqual([first.imported, first.duplicates], [7, 0])
        XCTAssertEqual(first.failures.count, 0)
        let reference = try indexed(root, photos)
        try assertSameResults(library, reference, queries(photos))

        // Again, and a copy of a folder elsewhere: nothing new.
        try FileManager.default.copyItem(atPath: root + "/shard-1", toPath: root + "/copy")
        let again = try EmbeddingImporter(library: library).importFolders([root + "/shard-0", root + "/shard-1", root + "/copy"])
        XCTAssertEqual(again.imported, 0)
        XCTAssertEqual(again.chunksBefore, again.chunks)
        XCTAssertEqual(try library.catalogue.files().count, 7)
        XCTAssertEqual(try library.catalogue.slotCount(), 7)
        // Indexing the photos folder itself later finds the imported files unchanged.
        let indexing = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual([indexing.unchanged, indexing.embedded], [7, 0])
    }

    func testAnotherModelIsRefusedNamingBoth() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        // Another tiny CLIP (16-dimensional), with clip-tiny's preprocessor settings at its 48-pixel input.
        let variant = root + "/clip-tiny-variant"
        try FileManager.default.copyItem(atPath: LibraryFixtures.fixtures.appendingPathComponent("clip-tiny-variant").path, toPath: variant)
        let settings = try String(contentsOfFile: LibraryFixtures.model + "/preprocessor_config.json", encoding: .utf8)
        try settings.replacingOccurrences(of: "64", with: "48").write(toFile: variant + "/preprocessor_config.json", atomically: true, encoding: .utf8)
        try embed(photos, into: root + "/emb-variant", model: variant)
        let library = try indexed(root, photos)
        let summary = try EmbeddingImporter(library: library).importFolders([root + "/emb-variant"])
        XCTAssertEqual(summary.imported, 0)
        let reason = try XCTUnwrap(summary.failures.first?.reason)
        XCTAssertTrue(reason.contains(LibraryFixtures.model) && reason.contains(variant), reason)
        XCTAssertTrue(reason.contains("12-dimensional") && reason.contains("16-dimensional"), reason)
        XCTAssertEqual(try library.catalogue.files().count, 7)

        // A library of another width: refused too, saying both widths.
        let other = try PhotoLibrary(folder: root + "/wide", create: true)
        try other.catalogue.adopt(LibraryModel(id: "other", revision: nil, fingerprint: "f", dimension: 1024))
        let wide = try EmbeddingImporter(library: other).importFolders([root + "/emb-variant"])
        XCTAssertTrue(wide.failures.first?.reason.contains("1024-dimensional") == true, "\(wide.failures)")
    }

    func testRecordsNotOnThisMachineAreSearchableByURL() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        let names = try FileManager.default.contentsOfDirectory(atPath: photos).sorted()
        let manifest = names.map { "{\"image\": \"photos/\($0)\", \"url\": \"https://example.com/\($0)\"}" }.joined(separator: "\n")
        try manifest.write(toFile: root + "/manifest.jsonl", atomically: true, encoding: .utf8)
        try embed(root + "/manifest.jsonl", into: root + "/emb")
        let reference = try indexed(root, photos)
        // The images were on the cluster, not here.
        let expected = try reference.snapshot().search(queries(photos), clip: LibraryFixtures.clip())
        try FileManager.default.moveItem(atPath: photos, toPath: root + "/elsewhere")

        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        let summary = try EmbeddingImporter(library: library).importFolders([root + "/emb"])
        XCTAssertEqual([summary.imported, summary.remote], [7, 7])
        XCTAssertTrue(try library.catalogue.files().allSatisfy { !$0.isLocal && $0.fullPath.hasPrefix("https://example.com/") })
        let got = try library.snapshot().search([SearchQuery(text: "a big cat in the grass", top: 20)], clip: LibraryFixtures.clip())[0]
        XCTAssertEqual(got.map(\.file.fullPath), expected[0].map { "https://example.com/" + ($0.file.path as NSString).lastPathComponent })
        for (a, b) in zip(got, expected[0]) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }
    }

    func testDamagedChunksAreSkippedAndTheRestImported() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root, count: 12)
        try embed(photos, into: root + "/emb")  // chunks of 3: 0 … 3
        let npy1 = root + "/emb/img_emb/img_emb_1.npy"
        let data = try Data(contentsOf: URL(fileURLWithPath: npy1))
        try data.prefix(data.count - 10).write(to: URL(fileURLWithPath: npy1))  // truncated
        let meta2 = root + "/emb/metadata/metadata_2.jsonl"
        let lines = try String(contentsOfFile: meta2, encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: meta2, atomically: true, encoding: .utf8)  // a line short
        let meta3 = root + "/emb/metadata/metadata_3.jsonl"
        try ("{not json\n" + lines.dropFirst().joined(separator: "\n") + "\n").write(toFile: meta3, atomically: true, encoding: .utf8)

        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        let summary = try EmbeddingImporter(library: library).importFolders([root + "/emb"])
        XCTAssertEqual(summary.imported, 3)
        XCTAssertEqual(summary.failedChunks, 3)
        let reasons = summary.failures.map(\.reason).joined(separator: "\n")
        XCTAssertTrue(reasons.contains("img_emb_1.npy") && reasons.contains("truncated"), reasons)
        XCTAssertTrue(reasons.contains("metadata_2.jsonl") && reasons.contains("2 lines for the 3 embeddings"), reasons)
        XCTAssertTrue(reasons.contains("metadata_3.jsonl") && reasons.contains("not a JSON object"), reasons)
    }

    func testNonFiniteRowsRefuseTheirChunk() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        try embed(photos, into: root + "/emb")
        let npy0 = root + "/emb/img_emb/img_emb_0.npy"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: npy0)))
        let nan = withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init)
        bytes.replaceSubrange(bytes.count - 4 ..< bytes.count, with: nan)
        try Data(bytes).write(to: URL(fileURLWithPath: npy0))
        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        let summary = try EmbeddingImporter(library: library).importFolders([root + "/emb"])
        XCTAssertEqual([summary.imported, summary.failedChunks], [4, 1])
        XCTAssertTrue(summary.failures.first?.reason.contains("NaN") == true, "\(summary.failures)")
    }

    func testOnlyCommittedChunksAreImported() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = try photos(root)
        try embed(photos, into: root + "/emb")
        // Cut the journal after chunk 1's line: chunk 2's files are there but not committed.
        let journal = root + "/emb/journal.jsonl"
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        try (lines.prefix(3).joined(separator: "\n") + "\n" + lines[3].prefix(20)).write(toFile: journal, atomically: true, encoding: .utf8)
        let library = try PhotoLibrary(folder: root + "/imported", create: true)
        let summary = try EmbeddingImporter(library: library).importFolders([root + "/emb"])
        XCTAssertEqual([summary.chunks, summary.imported], [2, 6])
    }
}
