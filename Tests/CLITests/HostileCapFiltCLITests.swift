import Foundation
import XCTest

/// `glimpse capfilt` given hostile options and models: every out-of-range or contradictory
/// option is a usage error (exit 2) naming the option, and the two BLIP heads swapped is a
/// failure (exit 1) naming what was expected.
final class HostileCapFiltCLITests: XCTestCase {
    let captioner = CLITests.fixtures.appendingPathComponent("blip-caption-tiny").path
    let filter = CLITests.fixtures.appendingPathComponent("blip-itm-tiny").path

    func testOutOfRangeAndContradictoryOptionsAreUsageErrors() throws {
        for (arguments, needle) in [(["--threshold", "1.5"], "--threshold"), (["--threshold", "nan"], "--threshold"),
                                    (["--threshold", "-1"], "--threshold"), (["--captions-per-image", "65"], "--captions-per-image"),
                                    (["--captions-per-image", "-1"], "--captions-per-image"), (["--top-p", "0"], "--top-p"),
                                    (["--top-p", "nan"], "--top-p"), (["--temperature", "inf"], "--temperature"),
                                    (["--batch-size", "100000"], "--batch-size"), (["--max-length", "100000000"], "--max-length"),
                                    (["--format", "wds", "--stdout"], "--stdout"), (["--max-length", "5"], "max length"),
                                    (["--shard", "2/2"], "--shard"), (["--prompt", " "], "prompt"), (["--top-k", "-1"], "--top-k")] {
            let result = try CLITests.execute(["capfilt", "--captioner", captioner, "--filter", filter, "--out", "/tmp/never"] + arguments + ["x.jsonl"])
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(needle), "\(arguments): \(result.stderr)")
        }
        let wrong = try CLITests.execute(["capfilt", "--captioner", filter, "--filter", captioner, "--out", NSTemporaryDirectory() + "capfilt-\(UUID().uuidString)",
                                          CLITests.fixtures.appendingPathComponent("images").path])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("not a captioning model"), wrong.stderr)
    }

}
