import XCTest
@testable import Glimpse

/// Drawing given detections — the ground-truth boxes of voc_dining.json — so the picture is
/// checkable without a trained model. Set GLIMPSE_KEEP_DRAWING=PATH to keep the PNG.
final class DetectionDrawingTests: XCTestCase {
    func testGroundTruthBoxesAreDrawnWithTags() throws {
        let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: Fixtures.path("detection/voc_dining.jpg")))
        let gt = try GroundTruthImage.load(contentsOf: URL(fileURLWithPath: Fixtures.path("detection/voc_dining.json")))[0]
        let labels = Array(Set(gt.objects.map(\.label))).sorted()
        let detections = gt.objects.map { Detection(label: $0.label, query: labels.firstIndex(of: $0.label) ?? 0, score: 1, box: $0.box, patch: 0) }
        let drawn = DetectionDrawing.draw(detections, on: image)
        XCTAssertEqual(drawn.width, image.width)
        // The bottle (220,255)-(260,345): nothing overlaps its lower edge; 2 px outline in its colour.
        let bottle = RGBColor.palette[labels.firstIndex(of: "bottle")!]
        for x in [225, 240, 255] {
            XCTAssertEqual(drawn.pixel(x: x, y: 344), bottle)
            XCTAssertEqual(drawn.pixel(x: x, y: 343), bottle)
            XCTAssertEqual(drawn.pixel(x: x, y: 346), image.pixel(x: x, y: 346), "outside the box untouched")
        }
        XCTAssertEqual(drawn.pixel(x: 240, y: 300), image.pixel(x: 240, y: 300), "inside the box untouched")
        // Its tag sits above the top edge: filled with the colour, with text in the contrasting colour.
        let tag = (0..<20).flatMap { dy in (220..<300).map { drawn.pixel(x: $0, y: 255 - 20 + dy) } }
        XCTAssertGreaterThan(tag.filter { $0 == bottle }.count, 400)
        XCTAssertGreaterThan(tag.filter { $0 == bottle.contrasting }.count, 50)
        // Survives PNG encoding exactly.
        let url = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GLIMPSE_KEEP_DRAWING"]
                      ?? FileManager.default.temporaryDirectory.appendingPathComponent("drawing-\(UUID().uuidString).png").path)
        try PNGEncoder.write(drawn, to: url)
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: url), drawn)
        if ProcessInfo.processInfo.environment["GLIMPSE_KEEP_DRAWING"] == nil { try? FileManager.default.removeItem(at: url) }
    }

    func testScoresFormatAndWildBoxesAreSafe() {
        XCTAssertEqual(DetectionDrawing.formatScore(0.874), "0.87")
        XCTAssertEqual(DetectionDrawing.formatScore(0.05), "0.05")
        XCTAssertEqual(DetectionDrawing.formatScore(1), "1.00")
        let image = RGBImage(width: 8, height: 8)
        let wild = Detection(label: "x", query: 0, score: 0.5, box: BoundingBox(x1: -.infinity, y1: .nan, x2: 1e30, y2: -5), patch: 0)
        XCTAssertEqual(DetectionDrawing.draw([wild], on: image).width, 8)
    }
}
