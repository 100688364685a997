import Foundation
import GlimpseBase
@testable import GlimpseImage
import XCTest

final class PreprocessorTests: XCTestCase {
    /// pixel_values agree with CLIPImageProcessorPil (default CLIP config, and a BLIP-style
    /// 384x384 squash config) on every real photo.
    func testPixelValuesMatchTransformers() throws {
        let meta = try XCTUnwrap(try Fixtures.reference()["pixel_values"] as? [[String: Any]])
        let blob = try Data(contentsOf: Fixtures.url("reference/pixel_values.f32"))
        let squashConfig = try Data(contentsOf: Fixtures.url("reference/config_squash384.json"))
        let processors = ["clip": ImagePreprocessor(config: PreprocessorConfig()),
                          "squash384": ImagePreprocessor(config: try PreprocessorConfig(data: squashConfig))]
        XCTAssertEqual(meta.count, 2 * Fixtures.realPhotos.count)
        for entry in meta {
            let file = try XCTUnwrap(entry["file"] as? String), name = try XCTUnwrap(entry["config"] as? String)
            let shape = try XCTUnwrap(entry["shape"] as? [Int])
            let offset = try XCTUnwrap(entry["offset"] as? Int), count = try XCTUnwrap(entry["count"] as? Int)
            let stride = try XCTUnwrap(entry["stride"] as? Int)
            let processor = try XCTUnwrap(processors[name])
            let image = try ImageDecoder.decode(contentsOf: Fixtures.url(file))
            let values = try processor(image)
            let size = processor.outputSize(for: image)
            XCTAssertEqual([3, size.height, size.width], shape, "\(file) \(name)")
            XCTAssertEqual(values.count, shape.reduce(1, *))
            var maxDiff: Float = 0, sumDiff: Float = 0
            for i in 0..<count {
                let bits = blob.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self) }
                let expected = Float(bitPattern: UInt32(littleEndian: bits))
                let d = abs(values[(i * stride) % values.count] - expected)
                maxDiff = max(maxDiff, d); sumDiff += d
            }
            XCTAssertLessThanOrEqual(maxDiff, 0.02, "\(file) \(name)")
            XCTAssertLessThanOrEqual(sumDiff / Float(count), 0.002, "\(file) \(name)")
            let means = try XCTUnwrap(entry["channel_means"] as? [Double])
            let plane = values.count / 3
            for c in 0..<3 {
                let mean = values[(c * plane)..<((c + 1) * plane)].reduce(0.0) { $0 + Double($1) } / Double(plane)
                XCTAssertEqual(mean, means[c], accuracy: 1e-3, "\(file) \(name) channel \(c)")
            }
            // The batching entry point writes the same values.
            var copy = [Float](repeating: .nan, count: values.count)
            try copy.withUnsafeMutableBufferPointer { try processor.pixelValues(image, into: $0) }
            XCTAssertEqual(copy, values)
        }
    }

    func testResizeTargetsFollowTransformersArithmetic() throws {
        let clip = ImagePreprocessor(config: PreprocessorConfig())
        XCTAssertTrue(clip.resizedSize(height: 300, width: 451) == (224, 336))  // int(224*451/300) = 336
        XCTAssertTrue(clip.resizedSize(height: 600, width: 512) == (262, 224))  // int(224*600/512) = 262
        XCTAssertTrue(clip.resizedSize(height: 10, width: 10) == (224, 224))
        XCTAssertEqual([clip.outputHeight, clip.outputWidth], [224, 224])
        // A crop larger than the resized image pads with zeros before normalisation.
        var config = PreprocessorConfig()
        config.doResize = false
        config.cropHeight = 5; config.cropWidth = 4
        let tiny = RGBImage(width: 2, height: 1, pixels: [255, 255, 255, 255, 255, 255])
        let values = try ImagePreprocessor(config: config)(tiny)
        XCTAssertEqual(values.count, 60)
        let padded = Float((0 - Float(0.48145466)) / Float(0.26862954))
        let white = Float((Float(255.0 / 255.0) - Float(0.48145466)) / Float(0.26862954))
        // transformers: top = ceil(4/2) = 2 rows of padding, left = ceil(2/2) = 1 column.
        XCTAssertEqual(values[0], padded)
        XCTAssertEqual(values[2 * 4 + 1], white)
        XCTAssertEqual(values[2 * 4 + 2], white)
        XCTAssertEqual(values[2 * 4 + 3], padded)
    }

    func testConfigParsing() throws {
        func parse(_ json: String) throws -> PreprocessorConfig {
            try PreprocessorConfig(data: Data(json.utf8))
        }
        XCTAssertEqual(try parse("{}"), PreprocessorConfig())
        let legacy = try parse(#"{"size": 256, "crop_size": 240, "resample": 2, "feature_extractor_type": "x", "image_mean": 0.5}"#)
        XCTAssertEqual(legacy.size, .shortestEdge(256, longestEdge: nil))
        XCTAssertEqual([legacy.cropHeight, legacy.cropWidth], [240, 240])
        XCTAssertEqual(legacy.resample, .bilinear)
        XCTAssertEqual(legacy.imageMean, [0.5, 0.5, 0.5])
        XCTAssertEqual(try parse(#"{"size": {"height": 768, "width": 960}}"#).size, .exact(height: 768, width: 960))
        let bad = [#"{"size": "big"}"#, #"{"size": {"longest_edge": 3}}"#, #"{"do_resize": 1}"#, #"{"resample": 0}"#,
                   #"{"image_mean": [1, 2]}"#, #"{"image_std": [1, 0, 1]}"#, #"{"crop_size": {"height": 3}}"#,
                   #"{"size": {"shortest_edge": -2}}"#, #"{"rescale_factor": "x"}"#, #"[1]"#]
        for json in bad {
            XCTAssertThrowsError(try parse(json), json) { error in
                guard case GlimpseError.invalidConfig? = error as? GlimpseError else { return XCTFail("\(json): \(error)") }
            }
        }
    }

    func testLoadReportsMissingAndInvalidFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-pre-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("preprocessor_config.json")
        XCTAssertThrowsError(try ImagePreprocessor.load(folder: folder)) { error in
            XCTAssertEqual(error as? GlimpseError, .fileNotFound(path: file.path, what: "preprocessor configuration"))
        }
        try Data("{not json".utf8).write(to: file)
        XCTAssertThrowsError(try ImagePreprocessor.load(folder: folder)) { error in
            XCTAssertEqual(error as? GlimpseError, .invalidFile(path: file.path, reason: "is not valid JSON"))
        }
        try Data(#"{"do_normalize": "yes"}"#.utf8).write(to: file)
        XCTAssertThrowsError(try ImagePreprocessor.load(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains(file.path) && "\(error)".contains("do_normalize"), "\(error)")
        }
        try Data(#"{"size": {"height": 384, "width": 384}, "do_center_crop": false}"#.utf8).write(to: file)
        let loaded = try ImagePreprocessor.load(folder: folder)
        XCTAssertEqual([loaded.outputHeight, loaded.outputWidth], [384, 384])
    }
}
