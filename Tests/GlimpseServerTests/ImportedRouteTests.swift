import Foundation
import Glimpse
import GlimpseSearch
@testable import GlimpseServer
import Hummingbird
import HummingbirdTesting
import XCTest

/// A library imported from `glimpse embed` output whose images are not on this machine:
/// searchable (results carry their URLs), but their files and thumbnails are 404, as is a
/// local imported file deleted since.
final class ImportedRouteTests: XCTestCase {
    func testRecordsWithoutLocalFilesAreSearchedButNeverServed() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-serve-import-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/photos", withIntermediateDirectories: true)
        let names = ["horse.png", "cheetah.jpg", "lion.jpg"]
        for name in names {
            try FileManager.default.copyItem(atPath: ServerTests.fixtures.appendingPathComponent("images/\(name)").path, toPath: root + "/photos/" + name)
        }
        // Two records known by URL, one by a local path that will be deleted.
        let manifest = names.enumerated().map { i, name in
            i < 2 ? "{\"image\": \"photos/\(name)\", \"url\": \"https://example.com/\(name)\"}" : "{\"image\": \"photos/\(name)\"}"
        }.joined(separator: "\n")
        try manifest.write(toFile: root + "/manifest.jsonl", atomically: true, encoding: .utf8)
        let job = try CLIPEmbedJob(clip: ServerTests.clip, kind: .image)
        _ = try BulkRunner(job: job, dataset: try Dataset(paths: [root + "/manifest.jsonl"])).run(into: root + "/emb")
        for name in names.prefix(2) { try FileManager.default.removeItem(atPath: root + "/photos/" + name) }
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        XCTAssertEqual(try EmbeddingImporter(library: library).importFolders([root + "/emb"]).imported, 3)
        let local = try XCTUnwrap(try library.catalogue.files().first { $0.isLocal })
        try FileManager.default.removeItem(atPath: local.fullPath)

        let app = try SearchRouteTests.app(library)
        let files = try library.catalogue.files()
        try await app.test(.router) { client in
            for file in files {
                let id = try XCTUnwrap(file.id)
                for uri in ["/api/files/\(id)", "/api/thumbnails/\(id)"] {
                    try await client.execute(uri: uri, method: .get) { XCTAssertEqual($0.status, .notFound, "\(uri) \(file.fullPath)") }
                }
                try await client.execute(uri: "/api/similar/\(id)", method: .get) { XCTAssertEqual($0.status, .ok) }
            }
            try await client.execute(uri: "/api/search?q=a%20horse&top=3", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let paths = try XCTUnwrap((try ServerTests.json(response))["results"] as? [[String: Any]]).compactMap { $0["path"] as? String }
                XCTAssertEqual(Set(paths), ["https://example.com/horse.png", "https://example.com/cheetah.jpg", local.fullPath])
            }
        }
    }
}
