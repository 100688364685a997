import Foundation
import Glimpse
import GlimpseSearch
@testable import GlimpseServer
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// `/api/search?mode=keyword|hybrid` over a library indexed with captions: the same results
/// as the library's own keyword and hybrid search, each with its caption.
final class CaptionSearchRouteTests: XCTestCase {
    func library(captioned: Bool) throws -> (PhotoLibrary, [String]) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-serve-captions-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        try FileManager.default.createDirectory(at: url.appendingPathComponent("photos"), withIntermediateDirectories: true)
        var photos: [String] = []
        for name in ["chelsea.png", "horse.png", "camera.png", "lion.jpg"] {
            let target = url.appendingPathComponent("photos/\(name)")
            try FileManager.default.copyItem(at: ServerTests.fixtures.appendingPathComponent("images/\(name)"), to: target)
            photos.append(target.resolvingSymlinksInPath().path)
        }
        let library = try PhotoLibrary(folder: url.appendingPathComponent("lib").path, create: true)
        let model = try LibraryModel(spec: ServerTests.fixtures.appendingPathComponent("clip-tiny").path, clip: ServerTests.clip)
        let indexer = try LibraryIndexer(library: library, clip: ServerTests.clip, model: model)
        if captioned {
            let folder = ServerTests.fixtures.appendingPathComponent("blip-caption-tiny").path
            let blip = try BLIPCaptioner(folder: folder)
            try indexer.caption(with: LibraryCaptioner(captioner: blip, model: CaptionModel(spec: folder, captioner: blip)))
        }
        _ = try indexer.index(folders: [url.appendingPathComponent("photos").path])
        return (library, photos)
    }

    func app(_ library: PhotoLibrary) throws -> some ApplicationProtocol { try SearchRouteTests.app(library) }

    func testKeywordAndHybridModesAnswerAsTheLibrary() async throws {
        let (library, photos) = try library(captioned: true)
        let snapshot = try library.snapshot()
        let files = try library.catalogue.files()
        let captions = try library.catalogue.captions(for: files.map(\.sha256))
        let caption = try XCTUnwrap(captions[try XCTUnwrap(files.first { $0.fullPath == photos[0] }).sha256])
        let word = try XCTUnwrap(caption.split(separator: " ").first.map(String.init))
        try await app(library).test(.router) { client in
            for mode in [SearchMode.keyword, .hybrid] {
                let expected = try library.search(SearchQuery(text: word, top: 3), mode: mode, snapshot: snapshot, clip: ServerTests.clip)
                XCTAssertFalse(expected.isEmpty)
                try await client.execute(uri: "/api/search?q=\(word)&top=3&mode=\(mode.rawValue)", method: .get) { response in
                    XCTAssertEqual(response.status, .ok)
                    let hits = try XCTUnwrap((try ServerTests.json(response))["results"] as? [[String: Any]])
                    XCTAssertEqual(hits.map { $0["path"] as? String }, expected.map(\.file.fullPath), mode.rawValue)
                    for (hit, want) in zip(hits, expected) {
                        XCTAssertEqual(hit["caption"] as? String, captions[want.file.sha256])
                        XCTAssertEqual(hit["score"] as? Double ?? 0, Double(want.score), accuracy: 1e-5)
                    }
                }
            }
            try await client.execute(uri: "/api/search?q=%22NEAR(%20OR&mode=keyword", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/search?q=x&mode=fuzzy", method: .get) { XCTAssertEqual($0.status, .badRequest) }
        }
    }

    func testKeywordModeOnALibraryWithoutCaptionsIsABadRequest() async throws {
        let (library, _) = try library(captioned: false)
        try await app(library).test(.router) { client in
            try await client.execute(uri: "/api/search?q=cat&mode=keyword", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest)
                XCTAssertTrue(String(buffer: response.body).contains("--captions"))
            }
            try await client.execute(uri: "/api/search?q=cat", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let hits = try XCTUnwrap((try ServerTests.json(response))["results"] as? [[String: Any]])
                XCTAssertTrue(hits.allSatisfy { $0["caption"] == nil })
            }
        }
    }
}
