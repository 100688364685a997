import Foundation
import XCTest
@testable import Glimpse

/// OWL-ViT against transformers' OwlViTForObjectDetection + OwlViTProcessor on seeded random
/// weights (Tools/fixtures/make_owlvit_fixtures.py): a non-square JPEG (voc_dining.jpg,
/// 500×375) and a square grayscale PNG (camera.png, 512×512) as targets, lion.jpg and
/// cheetah.jpg as query images, from files and strings end to end.
///
/// Tolerances: heads (feature map, boxes, class embeddings, logits) ≤ 1e-4 max abs error;
/// detections: same count and queries, scores ≤ 1e-4, box corners ≤ 1e-3 × the image's
/// longer side. Measured errors are printed by each comparison.
final class OwlViTParityTests: XCTestCase {
    static let owl = Result { try OwlViT(folder: Fixtures.path("owlvit-tiny")) }
    var owl: OwlViT { get throws { try Self.owl.get() } }
    func reference() throws -> [String: Any] { try Fixtures.json("owlvit/owlvit-tiny.json") }
    static let targetPaths = ["detection/voc_dining.jpg", "images/camera.png"]
    static let queryPaths = ["images/lion.jpg", "images/cheetah.jpg"]
    func load(_ paths: [String]) throws -> [RGBImage] {
        try paths.map { try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: Fixtures.path($0))) }
    }

    func testBoxBiasMatchesReference() throws {
        let ref = try reference()
        assertClose(BoxHead.boxBias(gridHeight: 6, gridWidth: 6), try ref.floats("box_bias"), abs: 1e-5, "box bias 6×6")
        assertClose(BoxHead.boxBias(gridHeight: 7, gridWidth: 5), try ref.floats("box_bias_7x5"), abs: 1e-5, "box bias 7×5")
    }

    func testConfigAndPreprocessing() throws {
        let owl = try self.owl
        XCTAssertEqual(owl.contextLength, 16)
        XCTAssertEqual(owl.model.config.gridSize, 6)
        // The fixture's preprocessor_config.json says "size": 96 (bare integer): a square.
        XCTAssertEqual(try owl.preprocessor.outputSize(for: RGBImage(width: 500, height: 375)).height, 96)
        XCTAssertEqual(try owl.preprocessor.outputSize(for: RGBImage(width: 500, height: 375)).width, 96)
        let pixels = try owl.pixelValues(load(Self.targetPaths))
        let ref = try reference()
        let plane = 96 * 96
        let sums = (0..<6).map { i in (0..<plane).reduce(Float(0)) { $0 + pixels.data[i * plane + $1] } }
        assertClose(sums, try ref.floats("pixel_sums"), abs: 0.5, "per-channel pixel sums (of 9216 values)")
    }

    func testHeadsMatchReference() throws {
        let owl = try self.owl
        let ref = try reference()
        let queries = try XCTUnwrap(ref["text_queries"] as? [[String]])
        let ids = try XCTUnwrap(ref["ids"] as? [[[Int]]])
        for (b, texts) in queries.enumerated() {
            XCTAssertEqual(try texts.map { try owl.tokenize($0) }, ids[b], "token ids")
        }
        let map = try owl.featureMap(load(Self.targetPaths))
        assertClose(map.features.scalars, try ref.floats("image_embeds"), abs: 1e-4, "feature map")
        assertClose(owl.model.boxes(map).scalars, try ref.floats("pred_boxes"), abs: 1e-4, "pred_boxes")

        let qmax = try XCTUnwrap(ref["qmax"] as? Int), p = map.patches, dim = owl.model.config.projectionDim
        let refLogits = try ref.floats("logits"), refText = try ref.floats("text_embeds"), refClass = try ref.floats("class_embeds")
        for (b, texts) in queries.enumerated() {
            let embeddings = try owl.textQueries(texts).embeddings
            assertClose(embeddings.scalars, Array(refText[b * qmax * dim ..< (b * qmax + texts.count) * dim]), abs: 1e-4, "text_embeds image \(b)")
            let (logits, classEmbeddings) = owl.model.logits(map, image: b, queries: embeddings)
            let expected = (0 ..< p).flatMap { row in (0 ..< texts.count).map { refLogits[(b * p + row) * qmax + $0] } }
            assertClose(logits.scalars, expected, abs: 1e-4, "logits image \(b)")
            assertClose(classEmbeddings.scalars, Array(refClass[b * p * dim ..< (b + 1) * p * dim]), abs: 1e-4, "class_embeds image \(b)")
        }
    }

    /// The reference masks a query whose first token id is 0 with finfo(float32).min.
    func testQueryMaskMatchesReference() throws {
        let owl = try self.owl
        let ref = try reference()
        var ids = try XCTUnwrap(ref["ids"] as? [[[Int]]])[0]
        ids[2] = Array(repeating: 0, count: 16)
        let mask = OwlViTForObjectDetection.queryMask(ids)
        XCTAssertEqual(mask, [true, true, false])
        let map = try owl.featureMap(load([Self.targetPaths[0]]))
        let logits = owl.model.logits(map, image: 0, queries: try owl.model.textEmbeddings(ids: ids), mask: mask).logits
        let expected = Array(try ref.floats("masked_logits").prefix(map.patches * 3))
        for row in 0 ..< map.patches {
            XCTAssertEqual(logits[row, 2], -Float.greatestFiniteMagnitude)
            XCTAssertEqual(expected[row * 3 + 2], -Float.greatestFiniteMagnitude)
        }
        assertClose(logits.scalars.map { max($0, -1e30) }, expected.map { max($0, -1e30) }, abs: 1e-4, "masked logits")
    }

    func compare(_ actual: [Detection], _ expected: [[String: Any]], size: [Int], labels: Bool, _ what: String) throws {
        XCTAssertEqual(actual.count, expected.count, "\(what): detection count")
        guard actual.count == expected.count else { return }
        let boxTolerance = 1e-3 * Float(size.max() ?? 0)
        var worstBox: Float = 0, worstScore: Float = 0
        for (a, e) in zip(actual, expected) {
            let box = try XCTUnwrap(e["box"] as? [NSNumber]).map(\.floatValue)
            let score = try XCTUnwrap(e["score"] as? NSNumber).floatValue
            if labels { XCTAssertEqual(a.query, try XCTUnwrap(e["label"] as? Int), "\(what): query") }
            worstBox = max(worstBox, zip(a.box.corners, box).map { abs($0 - $1) }.max() ?? 0)
            worstScore = max(worstScore, abs(a.score - score))
        }
        print("parity \(what): \(actual.count) detections, max box error \(worstBox) px, max score error \(worstScore)")
        XCTAssertLessThanOrEqual(worstBox, boxTolerance, "\(what): box error")
        XCTAssertLessThanOrEqual(worstScore, 1e-4, "\(what): score error")
    }

    func testTextDetectionsMatchReference() throws {
        let owl = try self.owl
        let ref = try reference()
        let queries = try XCTUnwrap(ref["text_queries"] as? [[String]])
        let sizes = try XCTUnwrap(ref["sizes"] as? [[Int]])
        let expected = try XCTUnwrap(ref["text_detections"] as? [[[String: Any]]])
        let threshold = try XCTUnwrap(ref["text_threshold"] as? NSNumber).floatValue
        let images = try load(Self.targetPaths)
        let results = try owl.detect(images, perImageQueries: queries.map { try owl.textQueries($0) }, threshold: threshold)
        for i in images.indices {
            XCTAssertEqual([images[i].height, images[i].width], sizes[i])
            try compare(results[i], expected[i], size: sizes[i], labels: true, "text detections image \(i)")
            XCTAssertTrue(results[i].allSatisfy { queries[i][$0.query] == $0.label })
        }
        // The same query set for both images gives each image what it gets alone.
        let shared = try owl.textQueries(queries[0])
        let alone = try owl.detect([images[0]], queries: shared, threshold: threshold)[0]
        XCTAssertEqual(try owl.detect(images, queries: shared, threshold: threshold)[0].map(\.patch), alone.map(\.patch))
    }

    func testImageGuidedDetectionMatchesReference() throws {
        let owl = try self.owl
        let ref = try reference()
        let sizes = try XCTUnwrap(ref["sizes"] as? [[Int]])
        let names = try XCTUnwrap(ref["query_images"] as? [String])
        let guided = try XCTUnwrap(ref["guided"] as? [[String: Any]])
        let queries = try owl.imageQueries(load(Self.queryPaths), labels: names)
        let images = try load(Self.targetPaths)
        let map = try owl.featureMap(images)
        let dim = owl.model.config.projectionDim
        for entry in guided {
            let t = try XCTUnwrap(entry["target"] as? Int), q = try XCTUnwrap(entry["query"] as? Int)
            XCTAssertEqual(queries.queryPatches[q], try XCTUnwrap(entry["query_box_index"] as? Int), "query patch of \(names[q])")
            assertClose(Array(queries.embeddings.scalars[q * dim ..< (q + 1) * dim]), try entry.floats("query_embed"), abs: 1e-4, "query embedding \(names[q])")
            let logits = owl.model.logits(map, image: t, queries: queries.embeddings.rows(q ..< q + 1)).logits
            assertClose(logits.scalars, try entry.floats("logits"), abs: 1e-4, "image-guided logits \(t)/\(q)")
            for setting in try XCTUnwrap(entry["results"] as? [[String: Any]]) {
                let threshold = try XCTUnwrap(setting["threshold"] as? NSNumber).floatValue
                let nms = try XCTUnwrap(setting["nms"] as? NSNumber).floatValue
                let expected = try XCTUnwrap(setting["detections"] as? [[String: Any]])
                let single = OwlViTQueries(kind: .image, labels: [names[q]], embeddings: queries.embeddings.rows(q ..< q + 1), queryPatches: [])
                let actual = try owl.detect([images[t]], queries: single, threshold: threshold, nms: nms)[0]
                try compare(actual, expected, size: sizes[t], labels: false, "image-guided \(t)/\(names[q]) threshold \(threshold) nms \(nms)")
                XCTAssertTrue(actual.allSatisfy { $0.label == names[q] })
            }
        }
        // Several query images at once: each one's detections, in query order.
        let both = try owl.detect([images[0]], queries: queries)[0]
        XCTAssertEqual(both.map(\.query), both.map(\.query).sorted())
        XCTAssertEqual(Set(both.map(\.label)), Set(names))
    }

    /// Full-size random B/32 or B/16 (`make_owlvit_fixtures.py --full DIR --patch N`, 600 MB,
    /// not committed): GLIMPSE_FULL_OWLVIT=DIR swift test --filter OwlViTParityTests/testFullSize.
    func testFullSizeModelWhenAvailable() throws {
        guard let folder = ProcessInfo.processInfo.environment["GLIMPSE_FULL_OWLVIT"] else {
            throw XCTSkip("set GLIMPSE_FULL_OWLVIT to a folder made by make_owlvit_fixtures.py --full")
        }
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/reference.json"))) as? [String: Any])
        let owl = try OwlViT(folder: folder)
        let image = try load(["detection/voc_dining.jpg"])
        let texts = try XCTUnwrap(ref["queries"] as? [String])
        let queries = try owl.textQueries(texts)
        let map = try owl.featureMap(image)
        assertClose(owl.model.boxes(map).scalars, try ref.floats("pred_boxes"), abs: 1e-4, "full pred_boxes")
        assertClose(owl.model.logits(map, image: 0, queries: queries.embeddings).logits.scalars, try ref.floats("logits"), abs: 1e-3, "full logits")
        let threshold = try XCTUnwrap(ref["threshold"] as? NSNumber).floatValue
        try compare(try owl.detect(image, queries: queries, threshold: threshold)[0],
                    try XCTUnwrap(ref["detections"] as? [[String: Any]]), size: [375, 500], labels: true, "full detections")
    }
}
