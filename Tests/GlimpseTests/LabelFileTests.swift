import Foundation
import XCTest
import GlimpseCore
@testable import Glimpse

final class LabelFileTests: XCTestCase {
    private func file(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testFormats() throws {
        XCTAssertEqual(try LabelFile.read(file("tench\n\n  great white shark \r\ncock\n")), ["tench", "great white shark", "cock"])
        XCTAssertEqual(try LabelFile.read(file(" [\"tench\",\n \"goldfish\", \"a \\\"quoted\\\" one\"]")),
                       ["tench", "goldfish", "a \"quoted\" one"])
        XCTAssertEqual(try LabelFile.read(file("{\"10\": \"ten\", \"2\": \"two\", \"0\": \"zero\"}")), ["zero", "two", "ten"])
    }

    func testBadFilesGiveClearErrors() throws {
        let cases: [(String, String)] = [
            ("[\"a\", 3]", "entry 1 is not a string"),
            ("{\"x\": \"a\"}", "not an integer index"),
            ("[\"a\",", "not valid JSON"),
            ("\n \n", "empty"),
            ("[]", "empty"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try LabelFile.read(file(text)), text) { error in
                XCTAssertTrue("\(error)".contains(fragment) || (error as? GlimpseError)?.description.contains(fragment) == true,
                              "\(text): \(error)")
            }
        }
        XCTAssertThrowsError(try LabelFile.read("/nonexistent/labels.txt"))
    }

    /// The ImageNet class list the benchmarks use, when the shared assets are beside the repo.
    func testImageNetList() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/assets/imagenet_labels.json").standardized.path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no shared assets") }
        let labels = try LabelFile.read(path)
        XCTAssertEqual(labels.count, 1000)
        XCTAssertEqual(labels.first, "tench")
    }
}
