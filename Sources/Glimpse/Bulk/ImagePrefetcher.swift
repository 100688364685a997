import Foundation
import GlimpseCore
import GlimpseData
import GlimpseImage

/// Decoding and preprocessing of image batches, one batch ahead on a background thread, so
/// the CPU work of the next batch overlaps the model's work on the current one. Images are
/// files or in-memory archive members (`DatasetImage`); each batch becomes a `PixelBatch` in
/// which an image that cannot be read or decoded fails on its own.
///
/// Bulk jobs call `pixels(for:)` from their `prepare`, which `BulkRunner` runs one batch
/// ahead on a background thread (`Background`), as the photo indexer does with its batches.
public struct ImagePrefetcher: Sendable {
    public let preprocessor: ImagePreprocessor
    /// The side of the model's square input.
    public let size: Int

    public init(preprocessor: ImagePreprocessor, size: Int) {
        self.preprocessor = preprocessor
        self.size = size
    }

    /// The preprocessor and input size of a CLIP checkpoint.
    public init(clip: CLIP) throws {
        self.init(preprocessor: try clip.preprocessor, size: clip.model.image.imageSize)
    }

    /// Decodes and preprocesses `images` now, on this thread, one image at a time into the batch.
    public func pixels(for images: [DatasetImage]) throws -> PixelBatch {
        // PixelBatch decodes by name; the names here are indices into `images`.
        try PixelBatch(files: images.indices.map(String.init), preprocessor: preprocessor, size: size) { index in
            guard let i = Int(index), images.indices.contains(i) else {
                throw GlimpseError.invalidArgument("image \(index) is not in the batch")
            }
            return try Self.decode(images[i])
        }
    }

    /// A file through `ImageDecoder` (checked, bounded read), or an archive member's bytes.
    public static func decode(_ image: DatasetImage) throws -> RGBImage {
        guard let bytes = try image.memberBytes() else { return try PixelBatch.decodeFile(image.name) }
        return try ImageDecoder.decode(data: bytes, name: image.name)
    }
}
