import Foundation
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

    func testDegenerateSizesDoNotCrash() {
        let one = RGBImage(width: 1, height: 1, pixels: [10, 20, 30])
        XCTAssertEqual(Resize.bicubic(one, width: 3, height: 2).pixels, [UInt8](repeating: 0, count: 18).enumerated().map { [10, 20, 30][$0.offset % 3] })
        XCTAssertEqual(Resize.bicubic(one, width: 0, height: -4).width, 1)
        XCTAssertEqual(Resize.bicubic(RGBImage(width: 0, height: 0), width: 2, height: 2).pixels.count, 12)
    }
}
