import Foundation
import XCTest

/// Environment variables are settings like options: a value Glimpse cannot use is a usage
/// error (exit 2) naming the variable, not silently replaced by a default.
final class HostileEnvironmentTests: XCTestCase {
    var clip: String { CLITests.fixtures.appendingPathComponent("clip-tiny").path }

    func tokenize(with variables: [String: String]) throws -> CLITests.Result {
        var environment = ProcessInfo.processInfo.environment
        for key in ["GLIMPSE_NUM_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_ETAG_TIMEOUT",
                    "HF_HUB_DOWNLOAD_TIMEOUT", "HF_ENDPOINT"] { environment[key] = nil }
        environment.merge(variables) { $1 }
        return try CLITests.execute(["tokenize", "--model", clip, "a photo of a cat"], environment: environment)
    }

    func testThreadCountVariableIsChecked() throws {
        for value in ["abc", "0", "-3", "1000000000", "4x", "2.5", " 4"] {
            let result = try tokenize(with: ["GLIMPSE_NUM_THREADS": value])
            XCTAssertEqual(result.status, 2, "GLIMPSE_NUM_THREADS=\(value): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("GLIMPSE_NUM_THREADS") && result.stderr.contains("'\(value)'"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
        for value in ["", "1", "3", "256"] {
            let result = try tokenize(with: ["GLIMPSE_NUM_THREADS": value])
            XCTAssertEqual(result.status, 0, "GLIMPSE_NUM_THREADS=\(value): \(result.stderr)")
        }
    }

    func testHubVariablesAreChecked() throws {
        let cases: [(String, String)] = [
            ("HF_HUB_OFFLINE", "maybe"), ("TRANSFORMERS_OFFLINE", "2"), ("HF_HUB_ETAG_TIMEOUT", "abc"),
            ("HF_HUB_DOWNLOAD_TIMEOUT", "-1"), ("HF_HUB_DOWNLOAD_TIMEOUT", "nan"), ("HF_ENDPOINT", "ftp://example.com"),
            ("HF_ENDPOINT", "not a url"),
        ]
        for (key, value) in cases {
            let result = try tokenize(with: [key: value])
            XCTAssertEqual(result.status, 2, "\(key)=\(value): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(key) && result.stderr.contains(value), result.stderr)
        }
        let fine = try tokenize(with: ["HF_HUB_OFFLINE": "1", "HF_HUB_ETAG_TIMEOUT": "2.5", "HF_ENDPOINT": "http://127.0.0.1:9"])
        XCTAssertEqual(fine.status, 0, fine.stderr)
    }
}
