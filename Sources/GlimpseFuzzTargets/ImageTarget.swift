import GlimpseImage

/// JPEG and PNG decoding (chosen by content, as for any image file), EXIF orientation included,
/// then CLIP's preprocessing of the decoded pixels.
enum ImageTarget {
    static let preprocessor = ImagePreprocessor(config: PreprocessorConfig())

    static func run(_ input: [UInt8]) throws {
        let image = try ImageDecoder.decode(data: input, name: "fuzz input")
        guard image.pixels.count == image.width * image.height * 3 else {
            fatalError("decoded \(image.width)x\(image.height) image holds \(image.pixels.count) bytes")
        }
        // Preprocessing is exercised on images of ordinary size; resizing a decoded bomb of
        // 100 million pixels would only slow the fuzzer down.
        if image.width * image.height <= 1 << 20, let pixels = try? preprocessor(image) { blackHole(pixels) }
    }
}
