/// An 8-bit RGB image, interleaved and row-major: the one pixel format every decoder
/// produces and every preprocessing step consumes, so nothing downstream branches on format.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, R G B per pixel, rows top to bottom.
    public var pixels: [UInt8]

    /// The caller promises `pixels.count == width * height * 3`; a mismatch is a programming
    /// error in library code, never something a file can cause (decoders check sizes first).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image of the given size.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }
}
