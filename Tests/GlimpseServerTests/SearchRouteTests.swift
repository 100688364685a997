import Foundation
import Glimpse
import GlimpseSearch
@testable import GlimpseServer
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// The search endpoints over a real library indexed from photos written here: results equal
/// an independent ranking (CLIP embeddings and a plain dot-product loop), files are served
/// byte for byte only by catalogue id, thumbnails are made once and cached.
final class SearchRouteTests: XCTestCase {
    var root = ""
    var library: PhotoLibrary!
    var photos: [String] = []

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-serve-\(UUID().uuidString)")
        root = url.path
        try FileManager.default.createDirectory(at: url.appendingPathComponent("photos/beach"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: url.appendingPathComponent("photos/city"), withIntermediateDirectories: true)
        let sources = ["chelsea.png", "horse.png", "camera.png", "cheetah.jpg", "lion.jpg", "grace_hopper.jpg"]
        for (i, name) in sources.enumerated() {
            let target = url.appendingPathComponent("photos/\(i % 2 == 0 ? "beach" : "city")/\(name)")
            try FileManager.default.copyItem(at: ServerTests.fixtures.appendingPathComponent("images/\(name)"), to: target)
            photos.append(target.resolvingSymlinksInPath().path)
        }
        library = try PhotoLibrary(folder: url.appendingPathComponent("lib").path, create: true)
        let model = try LibraryModel(spec: ServerTests.fixtures.appendingPathComponent("clip-tiny").path, clip: ServerTests.clip)
        _ = try LibraryIndexer(library: library, clip: ServerTests.clip, model: model).index(folders: [url.appendingPathComponent("photos").path])
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func app() throws -> some ApplicationProtocol { try Self.app(library) }

    /// The server over `library` with the test CLIP only, on a port of the test's choosing.
    static func app(_ library: PhotoLibrary) throws -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.port = 0
        let service = ModelService(clip: ServerTests.clip, captioner: nil, detector: nil)
        let libraryService = try LibraryService(library: library, batchSize: 8, capacity: 64)
        return GlimpseServer.application(router: GlimpseServer.router(service: service, library: libraryService, configuration: configuration),
                                         configuration: configuration)
    }

    /// Paths of all photos ranked by cosine to `query`, by a loop over `CLIP.embedEach`.
    func ranking(_ query: [Float]) throws -> [String] {
        let rows = try ServerTests.clip.embedEach(imageFiles: photos).map { try $0.get() }
        let scored = zip(photos, rows).map { path, row in (path, zip(query, row).reduce(Float(0)) { $0 + $1.0 * $1.1 }) }
        return scored.sorted { $0.1 > $1.1 }.map(\.0)
    }

    static func hits(_ response: TestResponse) throws -> [[String: Any]] {
        try XCTUnwrap((try ServerTests.json(response))["results"] as? [[String: Any]])
    }

    func testTextSearchRanksLikeAnIndependentLoop() async throws {
        let query = try ServerTests.clip.embed(texts: ["a cat on a sofa"]).scalars
        let expected = try ranking(query)
        let beach = (photos[0] as NSString).deletingLastPathComponent
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/search?q=a%20cat%20on%20a%20sofa&top=6", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(try Self.hits(response).map { $0["path"] as? String }, expected)
            }
            // Only under one folder.
            let under = beach.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            try await client.execute(uri: "/api/search?q=a%20cat%20on%20a%20sofa&top=6&under=\(under)", method: .get) { response in
                XCTAssertEqual(try Self.hits(response).map { $0["path"] as? String }, expected.filter { $0.hasPrefix(beach + "/") })
            }
        }
    }

    func testImageUploadAndSimilarPhotos() async throws {
        let upload = try Data(contentsOf: URL(fileURLWithPath: photos[1]))
        let query = try ServerTests.clip.embed(imageFiles: [photos[1]]).scalars
        let expected = try ranking(query)
        let (uploaded, libraryFolder) = (photos[1], library.folder)
        try await app().test(.router) { client in
            let id = try await client.execute(uri: "/api/search?top=3", method: .post, body: ByteBuffer(data: upload)) { response in
                XCTAssertEqual(response.status, .ok)
                let hits = try Self.hits(response)
                XCTAssertEqual(hits.map { $0["path"] as? String }, Array(expected.prefix(3)))
                XCTAssertEqual(hits.first?["path"] as? String, uploaded, "a photo is most like itself")
                return try XCTUnwrap(hits.first?["id"] as? Int)
            }
            try await client.execute(uri: "/api/similar/\(id)?top=6", method: .get) { response in
                XCTAssertEqual(try Self.hits(response).map { $0["path"] as? String }, expected)
            }
            // The file itself, byte for byte, and a cached thumbnail.
            try await client.execute(uri: "/api/files/\(id)", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(Data(buffer: response.body), upload)
                XCTAssertEqual(response.headers[.contentType], "image/png")
            }
            try await client.execute(uri: "/api/thumbnails/\(id)", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let thumbnail = try ImageDecoder.decode(data: [UInt8](Data(buffer: response.body)), name: "thumbnail")
                XCTAssertEqual(max(thumbnail.width, thumbnail.height), LibraryService.thumbnailSide)
            }
            let cached = try FileManager.default.contentsOfDirectory(atPath: libraryFolder + "/thumbnails")
            XCTAssertEqual(cached.count, 1)
        }
    }

    func testOnlyCataloguedFilesAreServed() async throws {
        try await app().test(.router) { client in
            for uri in ["/api/files/999999", "/api/thumbnails/999999"] {
                try await client.execute(uri: uri, method: .get) { XCTAssertEqual($0.status, .notFound, uri) }
            }
            for uri in ["/api/files/0", "/api/files/-1", "/api/files/abc", "/api/files/..%2F..%2Fetc%2Fpasswd"] {
                try await client.execute(uri: uri, method: .get) { XCTAssertEqual($0.status, .badRequest, uri) }
            }
            try await client.execute(uri: "/api/files/../../etc/passwd", method: .get) { XCTAssertNotEqual($0.status, .ok) }
            try await client.execute(uri: "/api/search", method: .get) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/api/search?q=x&top=0", method: .get) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/api/similar/424242", method: .get) { XCTAssertEqual($0.status, .badRequest) }
        }
    }
}
