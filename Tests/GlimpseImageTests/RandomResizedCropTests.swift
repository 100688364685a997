import XCTest
import GlimpseCore
@testable import GlimpseImage

/// The region draw against torchvision's rule: inside the image, area share in `scale` and
/// aspect ratio in `ratio` (up to rounding), the centred fallback when no draw fits, the
/// same region for the same generator state, and pixels copied from where the region says.
final class RandomResizedCropTests: XCTestCase {
    func testRegionsFollowScaleAndRatio() {
        let crop = RandomResizedCrop()
        var random = SplitMix64(seed: 5)
        var areas: [Double] = []
        for (width, height) in [(640, 480), (224, 224), (31, 97), (1, 1), (3000, 20)] {
            for _ in 0 ..< 200 {
                let r = crop.region(width: width, height: height, using: &random)
                XCTAssertTrue(r.x >= 0 && r.y >= 0 && r.width >= 1 && r.height >= 1, "\(r)")
                XCTAssertLessThanOrEqual(r.x + r.width, width)
                XCTAssertLessThanOrEqual(r.y + r.height, height)
                if width >= 224 && height >= 224 {
                    let share = Double(r.width * r.height) / Double(width * height)
                    XCTAssertTrue(share >= 0.07 && share <= 1.0, "area share \(share)")
                    let aspect = Double(r.width) / Double(r.height)
                    XCTAssertTrue(aspect >= 0.74 && aspect <= 1.35, "aspect \(aspect)")
                    areas.append(share)
                }
            }
        }
        // The draws spread over the range, not one value.
        XCTAssertLessThan(areas.min() ?? 1, 0.3)
        XCTAssertGreaterThan(areas.max() ?? 0, 0.7)
    }

    func testFallbackIsTheCentredCropWithinTheRatio() {
        // 3000 × 20 never fits a draw of 8-100 % at aspect ≤ 4:3: the centred 27 × 20 crop.
        var random = SplitMix64(seed: 1)
        let r = RandomResizedCrop(scale: 0.5 ... 1).region(width: 3000, height: 20, using: &random)
        XCTAssertEqual(r, RandomResizedCrop.Region(x: (3000 - 27) / 2, y: 0, width: 27, height: 20))
    }

    func testSameGeneratorStateGivesTheSameCropAndPixelsComeFromTheRegion() {
        var pixels = [UInt8](repeating: 0, count: 50 * 40 * 3)
        for i in pixels.indices { pixels[i] = UInt8(i % 251) }
        let image = RGBImage(width: 50, height: 40, pixels: pixels)
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 42)
        let first = RandomResizedCrop().apply(image, using: &a)
        XCTAssertEqual(first, RandomResizedCrop().apply(image, using: &b))
        let r = RandomResizedCrop().region(width: 50, height: 40, using: &c)
        XCTAssertEqual([first.width, first.height], [r.width, r.height])
        for row in 0 ..< r.height {
            for x in 0 ..< r.width * 3 {
                XCTAssertEqual(first.pixels[row * r.width * 3 + x], pixels[((r.y + row) * 50 + r.x) * 3 + x])
            }
        }
    }
}
