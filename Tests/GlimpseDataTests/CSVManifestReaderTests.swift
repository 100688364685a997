import Foundation
import XCTest
@testable import GlimpseData

final class CSVManifestReaderTests: XCTestCase {
    func testQuotedCommasQuotesAndNewlinesStayInTheirField() throws {
        let scratch = try ScratchDataset()
        let horse = try Fixture.image("horse.png")
        try scratch.write("imgs/horse.png", horse)
        let csv = try scratch.write("m.csv", """
            image,text,extra
            imgs/horse.png,"a horse, brown",1
            imgs/horse.png,"two
            lines, and \"\"quotes\"\"\",2

            imgs/missing.png,gone,3
            imgs/horse.png,short
            imgs/horse.png,,5

            """)
        let items = Array(CSVManifestReader(path: csv))
        XCTAssertEqual(items.map(summary), [
            "ok \(csv):2 a horse, brown",
            "ok \(csv):3 two\nlines, and \"quotes\"",
            "fail \(csv):5: image not found: \(scratch.path("imgs/missing.png"))",
            "fail \(csv):6: has 2 fields, the header has 3",
            "ok \(csv):7 -",
        ])
        let first = try XCTUnwrap(items[0].record)
        XCTAssertEqual(try imageBytes(first), horse)
        XCTAssertEqual(first.metadata, #"{"extra":"1","image":"imgs\/horse.png","text":"a horse, brown"}"#)
    }

    func testTSVWithSelectedFields() throws {
        let scratch = try ScratchDataset()
        try scratch.write("lion.jpg", try Fixture.image("lion.jpg"))
        let tsv = try scratch.write("m.tsv", "caption\tfile\na lion, roaring\tlion.jpg\n\"quoted\ttab\"\tlion.jpg\n")
        let fields = DatasetFields(image: "file", text: "caption")
        XCTAssertEqual(Array(CSVManifestReader(path: tsv, delimiter: "\t", fields: fields)).map(summary), [
            "ok \(tsv):2 a lion, roaring",
            "ok \(tsv):3 quoted\ttab",
        ])
    }
}
