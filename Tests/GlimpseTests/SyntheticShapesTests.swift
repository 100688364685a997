import Foundation
@testable import Glimpse
import GlimpseData
import GlimpseImage
import XCTest

/// The synthetic training set and the loss-curve chart, checked pixel by pixel against what
/// the caption and the numbers say.
final class SyntheticShapesTests: XCTestCase {
    func testEveryCaptionMatchesItsPixels() throws {
        let set = try SyntheticShapes(side: 48, seed: 7)
        var seen = Set<String>()
        for index in 0 ..< 200 {
            let sample = set.sample(index)
            seen.insert(sample.caption)
            let rgb = try XCTUnwrap(SyntheticShapes.colors.first { $0.name == sample.color }).rgb
            let px = sample.image.pixels
            func packed(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt32 { UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }
            let colors: [UInt32] = stride(from: 0, to: px.count, by: 3).map { i in packed(px[i], px[i + 1], px[i + 2]) }
            let shapeColor = packed(rgb.r, rgb.g, rgb.b)
            let painted = colors.filter { $0 == shapeColor }.count
            // Area of the shape against its bounding square (0.4–0.75 of the side): square 1, circle π/4, triangle 1/2.
            let (lo, hi): (Double, Double) = switch sample.shape {
            case .square: (0.9, 1.1)
            case .circle: (0.7, 0.86)
            case .triangle: (0.4, 0.6)
            }
            let sideRange = (Double(Int(48 * 0.4)), Double(Int(48 * 0.75)))
            XCTAssertGreaterThanOrEqual(Double(painted), lo * sideRange.0 * sideRange.0 * 0.95, "\(index) \(sample.caption)")
            XCTAssertLessThanOrEqual(Double(painted), hi * sideRange.1 * sideRange.1 * 1.05, "\(index) \(sample.caption)")
            // Only two colours in the picture: the shape's and one background.
            XCTAssertEqual(Set(colors).count, 2, "\(index)")
        }
        XCTAssertEqual(seen, Set(SyntheticShapes.captions), "200 samples cover all 12 classes")
        XCTAssertEqual(SyntheticShapes.captions.count, 12)
    }

    func testShapesAreTellableApartByArea() throws {
        // The same box filled as a square, circle and triangle: areas in the ratio 1 : π/4 : 1/2.
        let set = try SyntheticShapes(side: 64, seed: 1)
        var ratios: [SyntheticShapes.Shape: [Double]] = [:]
        for index in 0 ..< 300 {
            let s = set.sample(index)
            let rgb = SyntheticShapes.colors.first { $0.name == s.color }!.rgb
            var xs: [Int] = [], ys: [Int] = []
            for y in 0 ..< 64 { for x in 0 ..< 64 where s.image.pixel(x: x, y: y) == rgb { xs.append(x); ys.append(y) } }
            let box = Double((xs.max()! - xs.min()! + 1) * (ys.max()! - ys.min()! + 1))
            ratios[s.shape, default: []].append(Double(xs.count) / box)
        }
        let mean = { (shape: SyntheticShapes.Shape) in ratios[shape]!.reduce(0, +) / Double(ratios[shape]!.count) }
        XCTAssertEqual(mean(.square), 1, accuracy: 0.001)
        XCTAssertEqual(mean(.circle), Double.pi / 4, accuracy: 0.04)
        XCTAssertEqual(mean(.triangle), 0.5, accuracy: 0.06)
    }

    func testSamplesArePureFunctionsOfSeedAndIndex() throws {
        let a = try SyntheticShapes(side: 32, seed: 3), b = try SyntheticShapes(side: 32, seed: 3)
        let c = try SyntheticShapes(side: 32, seed: 4)
        XCTAssertEqual(a.sample(17).image, b.sample(17).image)
        XCTAssertEqual((0 ..< 20).map { a.sample($0).image }, (0 ..< 20).reversed().map { b.sample($0).image }.reversed())
        XCTAssertNotEqual((0 ..< 20).map { a.sample($0).caption }, (0 ..< 20).map { c.sample($0).caption })
        XCTAssertThrowsError(try SyntheticShapes(side: 4))
    }

    func testWrittenSetReadsBackThroughTheDatasetReader() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let set = try SyntheticShapes(side: 24, seed: 2)
        let manifest = try set.write(10 ..< 16, to: folder)
        let records = try Dataset(paths: [manifest]).compactMap { item -> DatasetRecord? in
            if case .success(let r) = item { return r }
            XCTFail("\(item)")
            return nil
        }
        XCTAssertEqual(records.map(\.text), (10 ..< 16).map { set.sample($0).caption })
        for (record, index) in zip(records, 10 ..< 16) {
            guard case .file(let path) = record.image else { return XCTFail("\(record.image)") }
            XCTAssertEqual(try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path)), set.sample(index).image)
        }
    }

    func testLossCurvePutsEachAverageWhereTheScaleSays() throws {
        var curve = LossCurve()
        curve.smoothing = 1  // the average is the value itself: the strong line passes through every point
        let points = (0 ..< 50).map { (step: $0 * 10, value: 3 * exp(-Double($0) / 15) + 0.2) }
        let image = try curve.render(points)
        XCTAssertEqual(image.width, 640)
        let scale = curve.scale(for: points)
        XCTAssertEqual(scale.steps.lowerBound, 0)
        XCTAssertEqual(scale.steps.upperBound, 490)
        XCTAssertLessThan(scale.values.lowerBound, 0.2 + 3 * exp(-49.0 / 15))
        XCTAssertGreaterThan(scale.values.upperBound, 3.2)
        let strong = RGBColor(31, 119, 180)
        for point in points {
            let p = curve.pixel(step: Double(point.step), value: point.value, scale: scale)
            XCTAssertEqual(image.pixel(x: p.x, y: p.y), strong, "step \(point.step)")
        }
        // The first point is near the top left of the plot, the last near the bottom right.
        let first = curve.pixel(step: 0, value: points[0].value, scale: scale)
        let last = curve.pixel(step: 490, value: points[49].value, scale: scale)
        XCTAssertLessThan(first.y, 60)
        XCTAssertGreaterThan(last.y, 330)
        XCTAssertEqual(first.x, curve.margins.left)
        XCTAssertEqual(last.x, 640 - curve.margins.right)
        // Axis labels are drawn left of the plot area.
        let labelPixels = (0 ..< 400).flatMap { y in (0 ..< 60).map { x in image.pixel(x: x, y: y) } }.filter { $0 != .white }
        XCTAssertGreaterThan(labelPixels.count, 50)
    }

    func testLossCurveToleratesNonFiniteAndFlatSeries() throws {
        let curve = LossCurve()
        XCTAssertNoThrow(try curve.render([(0, .nan), (1, 2), (2, .infinity), (3, 2)]))
        XCTAssertNoThrow(try curve.render([]))
        let flat = curve.scale(for: [(0, 1), (1, 1)])
        XCTAssertLessThan(flat.values.lowerBound, 1)
        XCTAssertGreaterThan(flat.values.upperBound, 1)
        var tiny = LossCurve()
        tiny.width = 10
        XCTAssertThrowsError(try tiny.render([(0, 1)]))
    }

    func testAxisLabelsTellTicksApart() {
        // A loss that moved from 3.95 to 3.98: two decimals would print 3.97 twice.
        let spacing = 0.0075
        let labels = (0 ... 4).map { LossCurve.format(3.95 + Double($0) * spacing, spacing: spacing) }
        XCTAssertEqual(Set(labels).count, 5, "\(labels)")
        XCTAssertEqual(LossCurve.format(2.5, spacing: 0.5), "2.50")
        XCTAssertEqual(LossCurve.format(250_000, spacing: 1000), "2.50e+05")
    }
}
