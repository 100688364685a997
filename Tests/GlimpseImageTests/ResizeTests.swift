import Foundation
import GlimpseCore
@testable import GlimpseImage
import XCTest

final class ResizeTests: XCTestCase {
    /// Bicubic and bilinear are bit-exact with Pillow, up and down, square and not.
    func testResizeMatchesPillowExactly() throws {
        let resized = try XCTUnwrap(try Fixtures.reference()["resized"] as? [[String: Any]])
        var cache: [String: RGBImage] = [:]
        for ref in resized {
            let file = try XCTUnwrap(ref["file"] as? String), name = try XCTUnwrap(ref["filter"] as? String)
            let w = try XCTUnwrap(ref["width"] as? Int), h = try XCTUnwrap(ref["height"] as? Int)
            let source = try cache[file] ?? ImageDecoder.decode(contentsOf: Fixtures.url(file))
            cache[file] = source
            let filter: Resize.Filter = name == "bicubic" ? .bicubic : .bilinear
            let out = Resize.resample(source, width: w, height: h, filter: filter)
            let result = compare(out, to: ref)
            XCTAssertTrue(result.exact, "\(file) \(name) -> \(w)x\(h): sampled max diff \(result.sampledMaxDiff)")
        }
    }

    /// A window of the resize equals the same window cut from the whole resize (which the test
    /// above holds to Pillow), for every pass order, up and down, and windows at the edges.
    func testAWindowOfTheResizeEqualsTheCroppedWholeResize() {
        var random = SplitMix64(seed: 11)
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        for trial in 0..<300 {
            let w = draw(1...40), h = draw(1...40)
            let image = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            let ow = draw(1...60), oh = draw(1...60)
            let x0 = draw(0...(ow - 1)), y0 = draw(0...(oh - 1))
            let columns = x0 ..< draw((x0 + 1)...ow), rows = y0 ..< draw((y0 + 1)...oh)
            let filter: Resize.Filter = trial % 2 == 0 ? .bicubic : .bilinear
            let whole = Resize.resample(image, width: ow, height: oh, filter: filter)
            let window = Resize.resample(image, width: ow, height: oh, filter: filter, rows: rows, columns: columns)
            XCTAssertEqual(window.pixels, Resize.crop(whole, rows: rows, columns: columns).pixels,
                           "\(w)x\(h) -> \(ow)x\(oh), rows \(rows), columns \(columns)")
        }
    }

    func testDegenerateSizesDoNotCrash() {
        let one = RGBImage(width: 1, height: 1, pixels: [10, 20, 30])
        XCTAssertEqual(Resize.bicubic(one, width: 3, height: 2).pixels, [UInt8](repeating: 0, count: 18).enumerated().map { [10, 20, 30][$0.offset % 3] })
        XCTAssertEqual(Resize.bicubic(one, width: 0, height: -4).width, 1)
        XCTAssertEqual(Resize.bicubic(RGBImage(width: 0, height: 0), width: 2, height: 2).pixels.count, 12)
    }
}
