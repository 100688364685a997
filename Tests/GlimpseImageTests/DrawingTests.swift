import XCTest
@testable import GlimpseImage

final class DrawingTests: XCTestCase {
    func testRectanglesAreClippedAndExact() {
        var image = RGBImage(width: 10, height: 6)
        image.strokeRectangle(x0: 2, y0: 1, x1: 7, y1: 4, thickness: 1, color: .white)
        let lit = (0..<6).map { y in String((0..<10).map { image.pixel(x: $0, y: y) == .white ? "#" : "." }) }
        XCTAssertEqual(lit, ["..........", "..######..", "..#....#..", "..#....#..", "..######..", ".........."])
        image.fill(x0: -5, y0: -5, x1: 100, y1: 100, color: .black)  // clipped, no trap
        XCTAssertTrue(image.pixels.allSatisfy { $0 == 0 })
    }

    func testGlyphsRenderFromTheTable() {
        var image = RGBImage(width: 12, height: 7)
        image.drawText("H?", x: 0, y: 0, color: .white)
        let rows = (0..<7).map { y in String((0..<11).map { image.pixel(x: $0, y: y) == .white ? "#" : "." }) }
        XCTAssertEqual(rows, ["#...#..###.", "#...#.#...#", "#...#.....#", "#####....#.", "#...#...#..", "#...#......", "#...#...#.."])
        XCTAssertEqual(BitmapFont.rows("é"), BitmapFont.rows("?"))
        XCTAssertEqual(BitmapFont.table.count, 95 * 7)
        XCTAssertEqual(RGBImage.textSize("ab", scale: 2).width, 22)
    }
}
