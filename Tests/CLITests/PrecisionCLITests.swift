import Foundation
import XCTest

/// `--precision` from the command line: each precision runs and stays close to fp32 (the
/// budgets of PrecisionTests), a misspelt one is a usage error naming the choices, and
/// training refuses anything but fp32.
final class PrecisionCLITests: XCTestCase {
    let model = CLITests.fixtures.appendingPathComponent("clip-tiny").path
    let photo = CLITests.fixtures.appendingPathComponent("images/chelsea.png").path

    private func embeddings(_ precision: String) throws -> [[Double]] {
        let result = try CLITests.execute(["embed", "--model", model, "--precision", precision, "--quiet",
                                           "--image", photo, "--text", "a photo of a cat", "--text", "a dog"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try result.lines.map { try XCTUnwrap($0["embedding"] as? [Double]) }
    }

    func testEveryPrecisionEmbedsCloseToFP32() throws {
        let exact = try embeddings("fp32")
        XCTAssertEqual(exact.count, 3)
        for (precision, minimum) in [("bf16", 0.999), ("int8", 0.995), ("f32", 0.999_999)] {
            let other = try embeddings(precision)
            XCTAssertEqual(other.count, exact.count)
            for (a, b) in zip(exact, other) {
                let cosine = zip(a, b).map(*).reduce(0, +)  // both L2-normalised
                XCTAssertGreaterThanOrEqual(cosine, minimum, precision)
            }
        }
    }

    func testUnknownPrecisionIsAUsageError() throws {
        let result = try CLITests.execute(["classify", "--model", model, "--precision", "fp16", photo, "--labels", "cat"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("precision"), result.stderr)
        XCTAssertTrue(result.stdout.isEmpty)
    }

    func testTrainingRefusesReducedPrecision() throws {
        let result = try CLITests.execute(["train", "clip", "--model", model, "--data", "/nonexistent.jsonl",
                                           "--out", NSTemporaryDirectory() + "/never-\(UUID().uuidString)", "--precision", "int8"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("training runs in fp32"), result.stderr)
    }
}
