import XCTest
@testable import Glimpse

/// COCO AP on hand-made cases. Expected values are worked out by hand below (and agree with
/// pycocotools 2.0.11's COCOeval on the same boxes, checked once outside the test suite).
final class DetectionEvaluationTests: XCTestCase {
    func box(_ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float) -> BoundingBox { BoundingBox(x1: x1, y1: y1, x2: x2, y2: y2) }
    func det(_ label: String, _ score: Float, _ b: BoundingBox) -> Detection { Detection(label: label, query: 0, score: score, box: b, patch: 0) }
    func truth(_ objects: [(String, BoundingBox)]) -> GroundTruthImage {
        GroundTruthImage(image: "x", objects: objects.map { GroundTruthImage.Object(label: $0.0, box: $0.1) })
    }

    /// Two objects; ranked TP, FP, TP: recall .5 .5 1, monotone precision 1 .667 .667.
    /// Recall points 0…0.50 (51 of them) see precision 1, 0.51…1 (50) see 2/3:
    /// AP = (51 + 50 · 2/3) / 101 = 0.834983 at every IoU threshold.
    func testFalsePositiveBetweenTwoHits() {
        let r = DetectionEvaluation.evaluate(
            groundTruth: [truth([("a", box(0, 0, 10, 10)), ("a", box(20, 20, 30, 30))])],
            detections: [[det("a", 0.9, box(0, 0, 10, 10)), det("a", 0.8, box(50, 50, 60, 60)), det("a", 0.7, box(20, 20, 30, 30))]])
        let expected = (51 + 50 * 2.0 / 3) / 101
        XCTAssertEqual(r.ap, expected, accuracy: 1e-12)
        XCTAssertEqual(r.ap50, expected, accuracy: 1e-12)
    }

    /// IoU 0.72: a hit at thresholds 0.50…0.70 (5 of 10), a miss from 0.75 on.
    func testIoUThresholds() {
        let r = DetectionEvaluation.evaluate(groundTruth: [truth([("a", box(0, 0, 10, 10))])],
                                             detections: [[det("a", 0.9, box(0, 0, 10, 7.2))]])
        XCTAssertEqual(r.ap, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.ap50, 1, accuracy: 1e-12)
        XCTAssertEqual(r.ap75, 0, accuracy: 1e-12)
    }

    /// Class a: a hit then a duplicate (a false positive at full recall) → AP 1.
    /// Class b: no detections → 0. Label c has no ground truth and is ignored. Mean 0.5.
    func testClassesAveragedAndUnknownLabelsIgnored() {
        let r = DetectionEvaluation.evaluate(
            groundTruth: [truth([("a", box(0, 0, 10, 10)), ("b", box(20, 20, 30, 30))])],
            detections: [[det("a", 0.9, box(0, 0, 10, 10)), det("a", 0.8, box(0, 0, 10, 10)), det("c", 0.95, box(20, 20, 30, 30))]])
        XCTAssertEqual(r.ap, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.classes.map(\.label), ["a", "b"])
        XCTAssertEqual(r.classes[0].ap, 1, accuracy: 1e-12)
        XCTAssertEqual(r.classes[1].ap, 0)
        XCTAssertEqual(r.classes.map(\.groundTruth), [1, 1])
        XCTAssertEqual(r.classes.map(\.detections), [2, 0])
    }

    /// Ranking across images: FP (0.9, image 2), TP (0.6, image 1), TP (0.5, image 2):
    /// monotone precision 2/3 everywhere → AP 2/3.
    func testRankingAcrossImages() {
        let r = DetectionEvaluation.evaluate(
            groundTruth: [truth([("a", box(0, 0, 10, 10))]), truth([("a", box(0, 0, 10, 10))])],
            detections: [[det("a", 0.6, box(0, 0, 10, 10))], [det("a", 0.9, box(50, 50, 60, 60)), det("a", 0.5, box(0, 0, 10, 10))]])
        XCTAssertEqual(r.ap, 2.0 / 3, accuracy: 1e-12)
    }

    /// Ground truth scored against itself is perfect; the asset file loads.
    func testGroundTruthFileAgainstItself() throws {
        let gt = try GroundTruthImage.load(contentsOf: URL(fileURLWithPath: Fixtures.path("detection/voc_dining.json")))
        XCTAssertEqual(gt.count, 1)
        XCTAssertEqual(gt[0].objects.count, 19)
        XCTAssertEqual(gt[0].width, 500)
        let perfect = gt[0].objects.map { det($0.label, 1, $0.box) }
        let r = DetectionEvaluation.evaluate(groundTruth: gt, detections: [perfect])
        XCTAssertEqual(r.ap, 1, accuracy: 1e-12)
        XCTAssertEqual(Set(r.classes.map(\.label)), ["bottle", "chair", "diningtable", "person"])
        XCTAssertThrowsError(try GroundTruthImage.load(contentsOf: URL(fileURLWithPath: Fixtures.path("owlvit-tiny/model.safetensors"))))
    }
}
