import Foundation
import XCTest
@testable import GlimpseSearch

/// `glimpse index --captions` and `glimpse search --mode` as a user runs them.
final class CaptionCLITests: XCTestCase {
    private func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func testIndexWithCaptionsThenSearchByMode() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos", db = root + "/library"
        let paths = try (0 ..< 4).map { try LibraryFixtures.writePhoto(photos, "p\($0).png", seed: UInt64(900 + $0)) }

        // Without captions first: keyword search is refused with the way out.
        var run = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", db, "--quiet", photos])
        XCTAssertEqual(run.status, 0, run.stderr)
        run = try LibraryFixtures.glimpse(["search", "--db", db, "--mode", "keyword", "cat"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("--captions"), run.stderr)
        XCTAssertFalse(try lines(try LibraryFixtures.glimpse(["search", "--db", db, "--quiet", "cat"]).stdout).contains { $0["caption"] != nil })

        run = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", db, "--captions", CaptionFixtures.model, "--quiet", photos])
        XCTAssertEqual(run.status, 0, run.stderr)
        let summary = try XCTUnwrap(try lines(run.stdout).first)
        XCTAssertEqual(summary["captioned"] as? Int, 4)
        XCTAssertEqual(summary["embedded"] as? Int, 0)

        let expected = try CaptionFixtures.referenceCaptions(paths)
        let word = try XCTUnwrap(CaptionFixtures.words(expected[paths[0]] ?? "").sorted().first)
        for mode in ["semantic", "keyword", "hybrid"] {
            run = try LibraryFixtures.glimpse(["search", "--db", db, "--mode", mode, "--top", "4", "--quiet", word])
            XCTAssertEqual(run.status, 0, run.stderr)
            let results = try lines(run.stdout)
            XCTAssertFalse(results.isEmpty, mode)
            for result in results {
                let path = try XCTUnwrap(result["path"] as? String)
                XCTAssertEqual(result["caption"] as? String, expected[path], "\(mode) \(path)")
            }
            if mode == "keyword" {
                XCTAssertEqual(Set(results.compactMap { $0["path"] as? String }),
                               Set(paths.filter { CaptionFixtures.words(expected[$0] ?? "").contains(word) }))
            }
        }
        run = try LibraryFixtures.glimpse(["search", "--db", db, "--mode", "keyword", "--format", "table", word])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("caption"), run.stdout)

        run = try LibraryFixtures.glimpse(["search", "--db", db, "--mode", "keyword", "--image", paths[0], word])
        XCTAssertEqual(run.status, 2, run.stderr)
        run = try LibraryFixtures.glimpse(["search", "--db", db, "--mode", "hybrid", "--image", paths[0]])
        XCTAssertEqual(run.status, 2, run.stderr)

        // Another captioning model is refused, naming the library's.
        let other = root + "/blip-other"
        try FileManager.default.copyItem(atPath: CaptionFixtures.model, toPath: other)
        let config = other + "/config.json"
        try (String(contentsOfFile: config, encoding: .utf8) + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        run = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", db, "--captions", other, "--quiet", photos])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("captioned with the model \(CaptionFixtures.model)"), run.stderr)
        // Indexing without --captions warns that new photos stay uncaptioned.
        run = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", db, photos])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("--captions \(CaptionFixtures.model)"), run.stderr)
    }
}
