import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseData

final class FolderReaderTests: XCTestCase {
    func testImagesInSortedOrderWithSidecarsAndOtherFilesCounted() throws {
        let scratch = try ScratchDataset()
        let horse = try Fixture.image("horse.png")
        let lion = try Fixture.image("lion.jpg")
        try scratch.write("set/b.png", horse)
        try scratch.write("set/b.txt", "a horse\n")
        try scratch.write("set/a/z.JPG", lion)
        try scratch.write("set/a/y.jpeg", lion)
        try scratch.write("set/a/y.txt", [0xFF, 0xFE, 0x41, 0x00])
        try scratch.write("set/c.txt", "orphan caption")
        try scratch.write("set/notes.md", "not an image")
        try scratch.write("set/a/deeper/x.png", horse)
        let items = Array(FolderReader(path: scratch.path("set")))
        XCTAssertEqual(items.map(summary), [
            "ok \(scratch.path("set/a/deeper/x.png")) -",
            "fail \(scratch.path("set/a/y.jpeg")): \(scratch.path("set/a/y.txt")): is UTF-16 text; a caption file must be UTF-8",
            "ok \(scratch.path("set/a/z.JPG")) -",
            "ok \(scratch.path("set/b.png")) a horse",
        ])
        XCTAssertEqual(try imageBytes(try XCTUnwrap(items[2].record)), lion)
        XCTAssertEqual(try imageBytes(try XCTUnwrap(items[3].record)), horse)
        let reader = FolderReader(path: scratch.path("set"))
        _ = Array(reader)
        XCTAssertEqual(reader.skippedFiles, 2)
    }

    func testASymbolicLinkLoopIsNotFollowed() throws {
        let scratch = try ScratchDataset()
        try scratch.write("set/a.png", try Fixture.image("horse.png"))
        try FileManager.default.createSymbolicLink(atPath: scratch.path("set/loop"), withDestinationPath: scratch.path("set"))
        XCTAssertEqual(Array(FolderReader(path: scratch.path("set"))).map(summary), ["ok \(scratch.path("set/a.png")) -"])
    }

    func testNestingPastTheBoundIsOneFailure() throws {
        let scratch = try ScratchDataset()
        let deep = (0..<(Limits.folderDepth + 1)).map { "d\($0)" }.joined(separator: "/")
        try scratch.write("set/\(deep)/x.png", try Fixture.image("horse.png"))
        try scratch.write("set/y.png", try Fixture.image("horse.png"))
        let items = Array(FolderReader(path: scratch.path("set")))
        let tooDeep = scratch.path("set/" + (0..<Limits.folderDepth).map { "d\($0)" }.joined(separator: "/"))
        XCTAssertEqual(items.map(summary), [
            "fail \(tooDeep): is nested deeper than \(Limits.folderDepth) folders; skipped",
            "ok \(scratch.path("set/y.png")) -",
        ])
    }
}
