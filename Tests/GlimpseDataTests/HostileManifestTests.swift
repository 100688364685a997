import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseData

/// Manifests built to hurt: over-long lines, no newline at all, bytes that are not UTF-8,
/// unclosed CSV quotes. Each costs one failure, bounded memory, and reading goes on.
final class HostileManifestTests: XCTestCase {
    func testALineOverTheBoundIsOneFailureAndTheNextLineStillReads() throws {
        let scratch = try ScratchDataset()
        try scratch.write("horse.png", try Fixture.image("horse.png"))
        let long = "{\"image\": \"horse.png\", \"text\": \"" + String(repeating: "x", count: Limits.manifestLineBytes) + "\"}"
        let manifest = try scratch.write("m.jsonl", long + "\n{\"image\": \"horse.png\", \"text\": \"ok\"}")
        XCTAssertEqual(Array(JSONLinesReader(path: manifest)).map(summary), [
            "fail \(manifest):1: is longer than the \(Limits.manifestLineBytes) bytes a manifest line may have",
            "ok \(manifest):2 ok",
        ])
    }

    func testAFileWithoutNewlinesIsOneFailure() throws {
        let scratch = try ScratchDataset()
        let manifest = try scratch.write("m.jsonl", [UInt8](repeating: 0x41, count: 3 * Limits.manifestLineBytes))
        XCTAssertEqual(Array(JSONLinesReader(path: manifest)).map(summary), [
            "fail \(manifest):1: is longer than the \(Limits.manifestLineBytes) bytes a manifest line may have",
        ])
    }

    func testNonUTF8AndNULPathsAreFailures() throws {
        let scratch = try ScratchDataset()
        var bytes = Array(#"{"image": "a"#.utf8) + [0xFF, 0xFE] + Array(#"", "text": "t"}"#.utf8) + [0x0A]
        bytes += Array(#"{"image": "a\u0000b.png"}"#.utf8)
        let manifest = try scratch.write("m.jsonl", bytes)
        XCTAssertEqual(Array(JSONLinesReader(path: manifest)).map(summary), [
            "fail \(manifest):1: is not UTF-8 text",
            "fail \(manifest):2: has an image path containing a NUL character",
        ])
    }

    func testDeeplyNestedJSONIsAFailureNotACrash() throws {
        let scratch = try ScratchDataset()
        let depth = 100_000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let manifest = try scratch.write("m.jsonl", nested + "\n" + "{\"image\": \"x\", \"text\": " + nested + "}\n")
        let items = Array(JSONLinesReader(path: manifest))
        XCTAssertEqual(items.count, 2)
        XCTAssertEqual(items.compactMap(\.failure).count, 2)
    }

    func testAManifestThatIsAFolderIsOneFailure() throws {
        let scratch = try ScratchDataset()
        try scratch.write("m.jsonl/x", "")
        let items = Array(JSONLinesReader(path: scratch.path("m.jsonl")))
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(items.first?.failure?.reason, "\(scratch.path("m.jsonl")): is a directory, not a JSON Lines manifest")
    }

    func testAnUnclosedCSVQuoteStopsAtTheRowBound() throws {
        let scratch = try ScratchDataset()
        try scratch.write("horse.png", try Fixture.image("horse.png"))
        // The quote opened in row 3 never closes: the parser would read the rest of the file
        // into one field; the bound ends the file there with one failure instead.
        let rest = String(repeating: "horse.png,more text\n", count: Limits.manifestLineBytes / 10)
        let csv = try scratch.write("m.csv", "image,text\nhorse.png,fine\nhorse.png,\"never closed\n" + rest)
        let items = Array(CSVManifestReader(path: csv))
        XCTAssertEqual(items.map(summary), [
            "ok \(csv):2 fine",
            "fail \(csv):3: is longer than the \(Limits.manifestLineBytes) bytes a row may have (an unclosed quote?); the rest of the file is skipped",
        ])
    }

    func testCSVBytesThatAreNotUTF8EndTheFileWithOneFailure() throws {
        let scratch = try ScratchDataset()
        try scratch.write("horse.png", try Fixture.image("horse.png"))
        let csv = try scratch.write("m.csv", Array("image,text\nhorse.png,ok\nhorse.png,bad ".utf8) + [0xFF, 0xFE] + Array("\nhorse.png,later\n".utf8))
        XCTAssertEqual(Array(CSVManifestReader(path: csv)).map(summary), [
            "ok \(csv):2 ok",
            "fail \(csv):3: cannot be parsed (not UTF-8 text?); the rest of the file is skipped",
        ])
    }

    func testACSVWithoutTheImageColumnIsOneFailure() throws {
        let scratch = try ScratchDataset()
        let csv = try scratch.write("m.csv", "path,text\na.png,x\n")
        XCTAssertEqual(Array(CSVManifestReader(path: csv)).map(summary), [
            "fail \(csv): \(csv): has no \"image\" column (the header has \"path\", \"text\")",
        ])
    }
}
