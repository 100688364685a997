import Foundation
import XCTest
@testable import Glimpse

/// Model folders whose preprocessor_config.json does not fit the model, and labels files that
/// are not UTF-8 text: clear errors naming the file, never a write past the pixel buffer.
final class HostileInputFileTests: XCTestCase {
    /// A copy of a fixture folder (files linked) with its own preprocessor_config.json.
    private func folder(like fixture: String, preprocessor json: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        let source = URL(fileURLWithPath: Fixtures.path(fixture))
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "preprocessor_config.json" {
            try FileManager.default.createSymbolicLink(at: url.appendingPathComponent(name),
                                                       withDestinationURL: source.appendingPathComponent(name).resolvingSymlinksInPath())
        }
        try Data(json.utf8).write(to: url.appendingPathComponent("preprocessor_config.json"))
        return url.path
    }

    private func assertNamesConfig(_ body: @autoclosure () throws -> Any, _ phrases: [String],
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case GlimpseError.invalidConfig(let message)? = error as? GlimpseError else {
                return XCTFail("\(error)", file: file, line: line)
            }
            for phrase in ["preprocessor_config.json"] + phrases {
                XCTAssertTrue(message.contains(phrase), "'\(phrase)' not in: \(message)", file: file, line: line)
            }
        }
    }

    /// CLIP with `do_center_crop: false` once wrote a 64×96 image into a 64×64 slot (heap overflow).
    func testCLIPRefusesAPreprocessorThatDoesNotFitTheModel() throws {
        let image = RGBImage(width: 96, height: 64)
        for json in [#"{"do_center_crop": false, "size": {"shortest_edge": 64}}"#, #"{"do_center_crop": false, "do_resize": false}"#] {
            let clip = try CLIP(folder: folder(like: "clip-tiny", preprocessor: json))
            assertNamesConfig(try clip.pixelValues([image]), ["64×64"])
            XCTAssertNoThrow(try clip.embed(texts: ["a photo"]))  // the text side still works
        }
        let wrongCrop = try CLIP(folder: folder(like: "clip-tiny", preprocessor: #"{"crop_size": 80}"#))
        assertNamesConfig(try wrongCrop.embed(images: [image]), ["expected 64×64", "found 80×80"])
        assertNamesConfig(try CLIP(folder: folder(like: "clip-tiny", preprocessor: #"{"size": {"shortest_edge": 100000}}"#)).preprocessor,
                          ["shortest_edge", "from 1 to"])
    }

    func testOwlViTAndBLIPUseTheSameCheck() throws {
        let owl = try OwlViT(folder: folder(like: "owlvit-tiny", preprocessor: #"{"size": 80}"#))
        assertNamesConfig(try owl.pixelValues([RGBImage(width: 10, height: 10)]), ["expected 96×96", "found 80×80"])
        assertNamesConfig(try BLIPCaptioner(folder: folder(like: "blip-caption-tiny", preprocessor: #"{"size": {"height": 48, "width": 32}}"#)),
                          ["expected 32×32", "found 32×48"])
        assertNamesConfig(try BLIPCaptioner(folder: folder(like: "blip-caption-tiny", preprocessor: #"{"size": {"shortest_edge": 32}}"#)),
                          ["32×32"])
    }

    private func labels(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-labels-\(UUID().uuidString).txt")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Each says what is wrong (these all once said "labels file not found").
    func testLabelsFilesThatAreNotUTF8TextSaySo() throws {
        let cases: [([UInt8], String)] = [
            ([0xFF, 0xFE] + Array("c\0a\0t\0".utf8), "is UTF-16 text"),
            ([0xFE, 0xFF] + Array("\0c\0a\0t".utf8), "is UTF-16 text"),
            (Array("c\0a\0t\0\n\0".utf8), "is UTF-16 text (without a byte-order mark)"),
            (Array("caf".utf8) + [0xE9, 0x0A, 0x64, 0x6F, 0x67], "is not UTF-8 text"),
            (Array("cat\n\0dog\n".utf8), "contains a NUL byte"),
        ]
        for (bytes, phrase) in cases {
            let path = try labels(bytes)
            XCTAssertThrowsError(try LabelFile.read(path)) { error in
                XCTAssertEqual((error as? GlimpseError).map { "\($0)" }?.contains(phrase), true, "\(error)")
                guard case GlimpseError.invalidFile(path, _)? = error as? GlimpseError else { return XCTFail("\(error)") }
            }
        }
        let directory = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try LabelFile.read(directory)) { error in
            XCTAssertEqual(error as? GlimpseError, .invalidFile(path: directory, reason: "is a directory, not a labels file"))
        }
        XCTAssertThrowsError(try LabelFile.read("/dev/zero")) { error in
            XCTAssertTrue("\(error)".contains("character device"), "\(error)")
        }
        XCTAssertThrowsError(try LabelFile.read("/nonexistent/labels.txt")) { error in
            XCTAssertEqual(error as? GlimpseError, .fileNotFound(path: "/nonexistent/labels.txt", what: "labels file"))
        }
        // A byte-order mark before UTF-8 is fine.
        XCTAssertEqual(try LabelFile.read(labels([0xEF, 0xBB, 0xBF] + Array("cat\ndog\n".utf8))), ["cat", "dog"])
    }
}
