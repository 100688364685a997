import Foundation
import XCTest
@testable import GlimpseData

final class JSONLinesReaderTests: XCTestCase {
    func testEveryLineIsARecordOrAFailureInOrder() throws {
        let scratch = try ScratchDataset()
        let horse = try Fixture.image("horse.png")
        try scratch.write("data/img/horse.png", horse)
        let lion = try scratch.write("elsewhere/lion.jpg", try Fixture.image("lion.jpg"))
        let manifest = try scratch.write("data/m.jsonl", """
            {"image": "img/horse.png", "text": "a horse", "id": 7}

            {"image": "\(lion)", "text": "a lion"}
            {"image": "img/horse.png"
            {"text": "no image"}
            {"image": "img/horse.png", "text": 3}
            {"image": "img/missing.png", "text": "gone"}
            [1, 2]
            {"image": "img", "text": "a folder"}
            {"image": "img/horse.png", "text": null}
            """)
        let items = Array(JSONLinesReader(path: manifest))
        XCTAssertEqual(items.map(summary), [
            "ok \(manifest):1 a horse",
            "ok \(manifest):3 a lion",
            "fail \(manifest):4: is not valid JSON",
            "fail \(manifest):5: has no \"image\" field",
            "fail \(manifest):6: has a number as \"text\" (the text), expected a string",
            "fail \(manifest):7: image not found: \(scratch.path("data/img/missing.png"))",
            "fail \(manifest):8: is a JSON array, expected an object",
            "fail \(manifest):9: \(scratch.path("data/img")): is a directory, not an image",
            "ok \(manifest):10 -",
        ])
        let first = try XCTUnwrap(items[0].record)
        XCTAssertEqual(first.image, .file(path: scratch.path("data/img/horse.png")))
        XCTAssertEqual(try imageBytes(first), horse)
        XCTAssertEqual(first.source, "\(manifest) line 1")
        XCTAssertEqual(first.metadata, #"{"image": "img/horse.png", "text": "a horse", "id": 7}"#)
        XCTAssertEqual(try imageBytes(try XCTUnwrap(items[1].record)), try Fixture.image("lion.jpg"))
    }

    func testFieldNamesAreSelectableAndTextCanBeRequired() throws {
        let scratch = try ScratchDataset()
        try scratch.write("horse.png", try Fixture.image("horse.png"))
        let manifest = try scratch.write("m.jsonl", """
            {"url": "horse.png", "caption": "a horse"}
            {"url": "horse.png", "caption": ""}
            {"url": "horse.png"}

            """)
        let fields = DatasetFields(image: "url", text: "caption", requireText: true)
        XCTAssertEqual(Array(JSONLinesReader(path: manifest, fields: fields)).map(summary), [
            "ok \(manifest):1 a horse",
            "fail \(manifest):2: has an empty text",
            "fail \(manifest):3: has no text",
        ])
        let imagesOnly = DatasetFields(image: "url", text: nil)
        XCTAssertEqual(Array(JSONLinesReader(path: manifest, fields: imagesOnly)).compactMap { $0.record?.text }, [])
        XCTAssertEqual(Array(JSONLinesReader(path: manifest, fields: imagesOnly)).count, 3)
    }

    func testAMissingManifestIsOneFailure() throws {
        let scratch = try ScratchDataset()
        let items = Array(JSONLinesReader(path: scratch.path("none.jsonl")))
        XCTAssertEqual(items.map(summary), ["fail \(scratch.path("none.jsonl")): JSON Lines manifest not found: \(scratch.path("none.jsonl"))"])
    }
}
