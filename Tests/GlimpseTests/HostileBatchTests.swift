import Foundation
import XCTest
@testable import Glimpse

/// Many inputs at once, some of them bad: each bad file or text fails on its own, with its
/// name and the reason, and every good one still gets exactly the output it gets alone.
/// Files are decoded one at a time, so a batch of huge images never sits decoded at once.
final class HostileBatchTests: XCTestCase {
    static let chelsea = Fixtures.path("images/chelsea.png")
    static let cheetah = Fixtures.path("images/cheetah.jpg")

    /// A folder with a file that is not an image, and the name of a file that does not exist.
    func hostileFiles() throws -> (corrupt: String, missing: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let corrupt = dir.appendingPathComponent("corrupt.jpg")
        try Data("this is not an image".utf8).write(to: corrupt)
        return (corrupt.path, dir.appendingPathComponent("missing.png").path)
    }

    func failure<T>(_ result: InputResult<T>, file: StaticString = #filePath, line: UInt = #line) -> GlimpseError? {
        if case .failure(let error) = result { return error }
        XCTFail("expected a failure", file: file, line: line)
        return nil
    }

    func testMapReadyKeepsOrderAndSkipsWorkWhenNothingIsReady() throws {
        let inputs: [InputResult<Int>] = [.success(1), .failure(.invalidArgument("bad")), .success(3)]
        var calls: [[Int]] = []
        let outputs = try inputs.mapReady { ready -> [String] in calls.append(ready); return ready.map { "#\($0)" } }
        XCTAssertEqual(calls, [[1, 3]], "one call with the ready inputs in order")
        XCTAssertEqual(outputs.map { try? $0.get() }, ["#1", nil, "#3"])
        XCTAssertEqual(failure(outputs[1]), .invalidArgument("bad"))
        let none: [InputResult<Int>] = [.failure(.invalidArgument("bad"))]
        let nothing = try none.mapReady { _ -> [Int] in XCTFail("no work without ready inputs"); return [] }
        XCTAssertEqual(nothing.count, 1)
    }

    /// The loader decodes the files in input order, one call each; failed files take no slot
    /// and the good ones get the same pixels as when batched in memory.
    func testPixelBatchDecodesOneFileAtATimeAndSkipsFailures() throws {
        let clip = try CLIP(folder: Fixtures.path("clip-tiny"))
        let preprocessor = try clip.preprocessor
        let size = clip.model.image.imageSize
        let images = ["a": RGBImage(width: 90, height: 70, pixels: (0 ..< 90 * 70 * 3).map { UInt8($0 % 251) }),
                      "c": RGBImage(width: 40, height: 120, pixels: (0 ..< 40 * 120 * 3).map { UInt8($0 % 7 * 30) })]
        var order: [String] = []
        let batch = try PixelBatch(files: ["a", "b", "c"], preprocessor: preprocessor, size: size) { name in
            order.append(name)
            guard let image = images[name] else { throw GlimpseError.invalidFile(path: name, reason: "is not an image") }
            return image
        }
        XCTAssertEqual(order, ["a", "b", "c"], "decoded in input order, one call per file")
        XCTAssertEqual(batch.pixels.shape, [2, 3, size, size], "the failed file takes no slot")
        XCTAssertEqual(batch.inputs.map { try? $0.get() }, [ImageSize(width: 90, height: 70), nil, ImageSize(width: 40, height: 120)])
        XCTAssertEqual(failure(batch.inputs[1]), .invalidFile(path: "b", reason: "is not an image"))
        let together = try PixelBatch(images: [images["a"]!, images["c"]!], preprocessor: preprocessor, size: size)
        XCTAssertEqual(batch.pixels.scalars, together.pixels.scalars, "the same pixels as the decoded images batched in memory")
    }

    /// Decoding is never run concurrently for one batch: at most one decoded image is alive
    /// inside the loader at any time (the decode closure sees no other call in flight).
    func testPixelBatchNeverDecodesConcurrently() throws {
        let clip = try CLIP(folder: Fixtures.path("clip-tiny"))
        let lock = NSLock()
        var inFlight = 0, most = 0
        let files = (0 ..< 12).map { "image-\($0)" }
        let batch = try PixelBatch(files: files, preprocessor: clip.preprocessor, size: clip.model.image.imageSize) { _ in
            lock.withLock { inFlight += 1; most = max(most, inFlight) }
            defer { lock.withLock { inFlight -= 1 } }
            Thread.sleep(forTimeInterval: 0.002)
            return RGBImage(width: 300, height: 200)
        }
        XCTAssertEqual(most, 1)
        XCTAssertEqual(batch.pixels.shape[0], 12)
    }

    func testCLIPImageFilesFailOneByOne() throws {
        let (corrupt, missing) = try hostileFiles()
        let clip = try CLIP(folder: Fixtures.path("clip-tiny"))
        let results = try clip.embedEach(imageFiles: [Self.chelsea, corrupt, Self.cheetah, missing])
        XCTAssertEqual(results.count, 4)
        let alone = try clip.embed(imageFiles: [Self.chelsea, Self.cheetah])
        XCTAssertEqual(try results[0].get() + results[2].get(), alone.scalars, "good files embed exactly as without the bad ones")
        XCTAssertTrue(try XCTUnwrap(failure(results[1])).description.contains(corrupt))
        XCTAssertEqual(failure(results[3]), .fileNotFound(path: missing, what: "image"))
        XCTAssertThrowsError(try clip.embed(imageFiles: [Self.chelsea, corrupt])) { XCTAssertTrue("\($0)".contains(corrupt)) }

        let scores = try ZeroShotClassifier(clip: clip, labels: ["a cat", "a dog"]).classifyEach(imageFiles: [corrupt, Self.chelsea], clip: clip)
        XCTAssertNotNil(failure(scores[0]))
        XCTAssertEqual(try scores[1].get().count, 2)
    }

    func testCLIPTextsFailOneByOne() throws {
        let clip = try CLIP(folder: Fixtures.path("clip-tiny"))
        let long = Array(repeating: "word", count: 200).joined(separator: " ")
        let results = try clip.embedEach(texts: ["a cat", long, "a dog"])
        guard case .textTooLong? = failure(results[1]) else { return XCTFail("\(results[1])") }
        XCTAssertEqual(try results[0].get() + results[2].get(), try clip.embed(texts: ["a cat", "a dog"]).scalars)
        XCTAssertNoThrow(try clip.embedEach(texts: [long], truncate: true)[0].get())
    }

    func testOwlViTImageFilesFailOneByOne() throws {
        let (corrupt, _) = try hostileFiles()
        let owl = try OwlViT(folder: Fixtures.path("owlvit-tiny"))
        let queries = try owl.textQueries(["a cat", "a remote control"])
        let results = try owl.detectEach(imageFiles: [corrupt, Self.chelsea], queries: queries, threshold: 0)
        XCTAssertTrue(try XCTUnwrap(failure(results[0])).description.contains(corrupt))
        let found = try results[1].get()
        let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: Self.chelsea))
        XCTAssertEqual(found.size, ImageSize(width: image.width, height: image.height))
        XCTAssertEqual(found.detections, try owl.detect([image], queries: queries, threshold: 0)[0])
        XCTAssertThrowsError(try owl.imageQueries(files: [corrupt])) { XCTAssertTrue("\($0)".contains(corrupt)) }
    }

    func testBLIPImageFilesFailOneByOne() throws {
        let (corrupt, missing) = try hostileFiles()
        let captioner = try BLIPCaptioner(folder: Fixtures.path("blip-caption-tiny"))
        var options = captioner.generationDefaults
        options.maxNewTokens = 5
        let captions = try captioner.captionEach(imageFiles: [missing, Self.chelsea, corrupt], options: options)
        XCTAssertEqual(failure(captions[0]), .fileNotFound(path: missing, what: "image"))
        XCTAssertNotNil(failure(captions[2]))
        let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: Self.chelsea))
        XCTAssertEqual(try captions[1].get(), try captioner.caption(images: [image], options: options)[0])

        let matcher = try BLIPMatcher(folder: Fixtures.path("blip-itm-tiny"))
        let ids = matcher.tokenizeEach(["a cat", "  ", "a dog"])
        XCTAssertNotNil(failure(ids[1]), "an empty text fails on its own")
        let good = [try ids[0].get(), try ids[2].get()]
        let scores = try matcher.matchEach(imageFiles: [Self.chelsea, corrupt], ids: good)
        XCTAssertNotNil(failure(scores[1]))
        XCTAssertEqual(try scores[0].get(), try matcher.match(images: [image], texts: ["a cat", "a dog"])[0])
    }
}
