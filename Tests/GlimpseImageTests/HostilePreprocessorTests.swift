import Foundation
import GlimpseBase
@testable import GlimpseImage
import XCTest

/// Preprocessing configs and images that once wrote past the pixel buffer or asked for
/// impossible allocations: each must now be a clear error, and nothing is written outside
/// the buffer given.
final class HostilePreprocessorTests: XCTestCase {
    private func config(_ json: String) throws -> PreprocessorConfig {
        try PreprocessorConfig(data: Data(json.utf8), path: "/models/m/preprocessor_config.json")
    }

    private func assertError(_ body: @autoclosure () throws -> Any, contains phrases: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is GlimpseError, "\(error)", file: file, line: line)
            for phrase in phrases {
                XCTAssertTrue("\(error)".contains(phrase), "'\(phrase)' not in: \(error)", file: file, line: line)
            }
        }
    }

    /// `do_center_crop: false` with CLIP's shortest-edge resize gives 224×336 for a landscape
    /// photo: a 224×224 model must refuse the config, and a 224×224 buffer must not be overrun.
    func testOutputOfVaryingSizeIsRefusedForAFixedSizeModel() throws {
        for json in [#"{"do_center_crop": false}"#, #"{"do_center_crop": false, "do_resize": false}"#] {
            let preprocessor = ImagePreprocessor(config: try config(json), source: "/models/m/preprocessor_config.json")
            XCTAssertNil(preprocessor.fixedOutputSize, json)
            assertError(try preprocessor.validate(forModelInput: 224, 224),
                        contains: ["/models/m/preprocessor_config.json", "224×224"])
            let image = RGBImage(width: 451, height: 300)
            let plane = 3 * 224 * 224
            // One guard float on each side catches any write outside the buffer.
            var storage = [Float](repeating: .infinity, count: plane + 2)
            try storage.withUnsafeMutableBufferPointer { all in
                let inner = UnsafeMutableBufferPointer(rebasing: all[1...plane])
                assertError(try preprocessor.pixelValues(image, into: inner), contains: ["floats"])
                assertError(try preprocessor.pixelValues([image], height: 224, width: 224, into: inner),
                            contains: ["preprocessor_config.json", "224×224", "451×300"])
            }
            XCTAssertEqual(storage[0], .infinity)
            XCTAssertEqual(storage[plane + 1], .infinity)
        }
    }

    func testCropOfTheWrongSizeNamesExpectedAndFound() throws {
        let preprocessor = ImagePreprocessor(config: try config(#"{"crop_size": 256}"#), source: "/m/preprocessor_config.json")
        assertError(try preprocessor.validate(forModelInput: 224, 224),
                    contains: ["/m/preprocessor_config.json", "expected 224×224", "found 256×256"])
        XCTAssertNoThrow(try preprocessor.validate(forModelInput: 256, 256))
        let squash = ImagePreprocessor(config: try config(#"{"size": {"height": 384, "width": 320}, "do_center_crop": false}"#))
        XCTAssertNoThrow(try squash.validate(forModelInput: 384, 320))
        assertError(try squash.validate(forModelInput: 384, 384), contains: ["preprocessor_config.json", "320×384"])
    }

    /// Sizes are positive integers up to `Limits.preprocessedSide`: a shortest edge of 100,000
    /// is a config error, not an allocation of tens of gigabytes.
    func testPreprocessingSizesAreBounded() throws {
        let bad = [#"{"size": {"shortest_edge": 100000}}"#, #"{"size": 100000}"#, #"{"size": [0, 224]}"#,
                   #"{"size": {"height": 224, "width": 1e12}}"#, #"{"crop_size": 0}"#, #"{"crop_size": -224}"#,
                   #"{"crop_size": {"height": 224, "width": 9000}}"#, #"{"crop_size": true}"#,
                   #"{"size": {"shortest_edge": 224, "longest_edge": 1e300}}"#, #"{"size": 2.5}"#]
        for json in bad {
            assertError(try config(json), contains: ["/models/m/preprocessor_config.json", "from 1 to \(Limits.preprocessedSide)"])
        }
        XCTAssertEqual(try config(#"{"size": {"shortest_edge": 8192}}"#).size, .shortestEdge(8192, longestEdge: nil))
    }

    /// A long thin image under the pixel limit would be resized to billions of pixels by a
    /// shortest-edge resize (224 × 13 million): an error naming the sizes instead.
    func testResizeBeyondThePixelLimitIsAnError() throws {
        let preprocessor = ImagePreprocessor(config: PreprocessorConfig())
        let strip = RGBImage(width: 1, height: 60_000)
        assertError(try preprocessor(strip), contains: ["1×60000", "more than \(Limits.imagePixels) pixels"])
        var buffer = [Float](repeating: 0, count: 3 * 224 * 224)
        try buffer.withUnsafeMutableBufferPointer { out in
            assertError(try preprocessor.pixelValues([strip], height: 224, width: 224, into: out), contains: ["1×60000"])
        }
    }

    func testBufferOfTheWrongSizeIsRefused() throws {
        let preprocessor = ImagePreprocessor(config: PreprocessorConfig())
        let image = RGBImage(width: 300, height: 200)
        var buffer = [Float](repeating: 0, count: 3 * 224 * 224 - 1)
        try buffer.withUnsafeMutableBufferPointer { out in
            assertError(try preprocessor.pixelValues(image, into: out), contains: ["\(3 * 224 * 224 - 1) floats"])
            assertError(try preprocessor.pixelValues([image, image], height: 224, width: 224, into: out), contains: ["2 images"])
        }
        // The right size works and matches the single-image call.
        var batch = [Float](repeating: .nan, count: 2 * 3 * 224 * 224)
        try batch.withUnsafeMutableBufferPointer { try preprocessor.pixelValues([image, image], height: 224, width: 224, into: $0) }
        XCTAssertEqual(Array(batch[0..<(3 * 224 * 224)]), try preprocessor(image))
    }

    /// Values of the wrong JSON type name the file and key (read through ConfigReader).
    func testWrongTypesNameTheFileAndKey() throws {
        for (json, key) in [(#"{"do_center_crop": "no"}"#, "do_center_crop"), (#"{"image_mean": [1, "a", 2]}"#, "image_mean"),
                            (#"{"image_std": [1, true, 1]}"#, "image_std"), (#"{"resample": 2.5}"#, "resample"),
                            (#"{"rescale_factor": [1]}"#, "rescale_factor"), (#"{"size": null, "crop_size": "x"}"#, "crop_size")] {
            assertError(try config(json), contains: ["/models/m/preprocessor_config.json", key])
        }
        assertError(try config("[1, 2]"), contains: ["must be a JSON object"])
    }
}
