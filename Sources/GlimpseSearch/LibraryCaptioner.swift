import Crypto
import Foundation
import GlimpseCore

/// A BLIP captioning model as a library uses it: one caption per photo, decoded with the
/// checkpoint's own settings and no prompt, so the stored caption is the first one that
/// `glimpse caption` prints for the photo. Given to a `LibraryIndexer`, it captions each photo
/// from the same decoded image the embedding comes from, in the same transaction.
public final class LibraryCaptioner: Sendable {
    public let captioner: BLIPCaptioner
    public let model: CaptionModel

    public init(captioner: BLIPCaptioner, model: CaptionModel) {
        self.captioner = captioner
        self.model = model
    }

    /// The image side BLIP takes.
    var side: Int { captioner.model.config.vision.imageSize }

    /// The first caption of each preprocessed image ([N, 3, S, S]).
    func texts(pixels: Tensor) throws -> [String] {
        let captions = try captioner.caption(pixels: pixels)
        return try captions.map { list in
            guard let first = list.first else { throw GlimpseError.invalidArgument("the captioning model returned no caption for an image") }
            return first.text
        }
    }

    /// BLIP pixels of images decoded one by one, written into a batch tensor as they come
    /// (the decoded images are not kept).
    final class PixelSlots: @unchecked Sendable {
        let pixels: Tensor
        let side: Int
        private(set) var filled = 0
        let preprocessor: ImagePreprocessor

        init(count: Int, captioner: LibraryCaptioner) {
            side = captioner.side
            preprocessor = captioner.captioner.preprocessor
            pixels = Tensor(zeros: [max(count, 1), 3, side, side])
        }

        func add(_ image: RGBImage) throws {
            let output = preprocessor.outputSize(for: image)
            guard output.height == side, output.width == side, filled < pixels.shape[0] else {
                throw GlimpseError.invalidConfig("the captioning model's preprocessor gives \(output.width)×\(output.height) images but the model takes \(side)×\(side)")
            }
            let plane = 3 * side * side
            try preprocessor.pixelValues(image, into: UnsafeMutableBufferPointer(start: pixels.data + filled * plane, count: plane))
            filled += 1
        }

        var batch: Tensor? { filled == 0 ? nil : filled == pixels.shape[0] ? pixels : pixels.rows(0 ..< filled) }
    }
}

extension LibraryIndexer {
    /// Captions the catalogued photos in `scopes` whose content has no caption yet (a library
    /// indexed before without captions), without embedding them again: batch by batch, each
    /// batch one transaction. A photo that can no longer be read is left uncaptioned.
    func captionMissing(in scopes: [IndexScope], summary: inout IndexSummary) throws {
        guard let captioner else { return }
        let missing = try library.catalogue.uncaptionedFiles(in: scopes)
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            let batch = Array(missing[start ..< min(start + batchSize, missing.count)])
            let slots = LibraryCaptioner.PixelSlots(count: batch.count, captioner: captioner)
            var decoded: [CatalogueFile] = []
            for file in batch {
                do {
                    let data = [UInt8](try InputFile.read(file.fullPath, what: "image", limit: Limits.imageFileBytes))
                    // Changed since the walk: the next run catalogues it anew.
                    guard SHA256.hash(data: data).map({ String(format: "%02x", $0) }).joined() == file.sha256 else {
                        summary.uncaptioned += 1
                        continue
                    }
                    try slots.add(try ImageDecoder.decode(data: data, name: file.fullPath))
                    decoded.append(file)
                } catch {
                    summary.uncaptioned += 1
                }
            }
            guard let pixels = slots.batch else { continue }
            var change = CatalogueChange()
            for (file, text) in zip(decoded, try captioner.texts(pixels: pixels)) { change.captions[file.sha256] = text }
            try library.catalogue.commit(change)
            summary.captioned += change.captions.count
        }
    }
}

extension LibraryIndexer {
    /// Captions the photos of this and later `index` runs with `captioner`, recorded as the
    /// library's captioning model; a library captioned with another model refuses.
    public func caption(with captioner: LibraryCaptioner) throws {
        try library.catalogue.adoptCaptionModel(captioner.model)
        self.captioner = captioner
    }
}
