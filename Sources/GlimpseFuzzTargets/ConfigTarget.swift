import Foundation
import Glimpse

/// Configuration files: one JSON input read as every model's `config.json`, as
/// `preprocessor_config.json` (CLIP, BLIP and OWL-ViT readings) and as `generation_config.json`,
/// through the same folder-level loaders `glimpse` uses; each preprocessor read is then applied
/// to two small images.
enum ConfigTarget {
    static let files = ["config.json", "preprocessor_config.json", "generation_config.json", "open_clip_config.json"]
    static let images = [RGBImage(width: 7, height: 5), RGBImage(width: 3, height: 11)]

    static func run(_ input: [UInt8]) throws {
        let folder = try FuzzScratch.folder(.config)
        for name in files { try FuzzScratch.write(input, name, in: folder) }
        let checkpoint = try Checkpoint(folder: folder.path)

        // Every reader runs whatever the others said; the input counts as accepted when one
        // of them took it, and the first refusal is reported otherwise.
        var firstError: (any Error)?
        var accepted = false
        func attempt(_ body: () throws -> Void) {
            do { try body(); accepted = true } catch { if firstError == nil { firstError = error } }
        }
        attempt { _ = try ModelSummary(checkpoint: checkpoint) }
        attempt { _ = try GenerationOptions(checkpoint: checkpoint) }
        attempt { _ = try OpenCLIPConfig(checkpoint: checkpoint) }
        if let reader = try? checkpoint.config() {
            // With its own model_type, and without one, so each reader gets past that check.
            var untyped = reader.values
            untyped["model_type"] = nil
            for values in [reader.values, untyped] {
                let reader = ConfigReader(values: values, context: reader.context)
                attempt { _ = try CLIPConfig(reader: reader) }
                attempt { _ = try BLIPConfig(reader: reader) }
                attempt { _ = try OwlViTConfig(reader: reader) }
                attempt { _ = try OpenCLIPConfig(reader: reader) }
                attempt { _ = try BERTConfig(reader) }
            }
        }
        attempt { try preprocess(ImagePreprocessor.load(folder: folder)) }
        attempt { try preprocess(ImagePreprocessor.load(folder: folder, squareIntegerSize: true)) }
        attempt { try preprocess(BLIPImageProcessor.load(folder: folder)) }
        if !accepted, let firstError { throw firstError }
    }

    /// Applies `preprocessor` to the small test images when its output is of a size a model
    /// could take (the size bounds themselves are the loaders' business).
    static func preprocess(_ preprocessor: ImagePreprocessor) {
        for image in images {
            let (height, width) = preprocessor.outputSize(for: image)
            guard height >= 0, width >= 0, height <= 512, width <= 512 else { continue }
            // A refusal (a resize past the pixel limit) is a clean outcome; a wrong count is not.
            guard let pixels = try? preprocessor(image) else { continue }
            guard pixels.count == 3 * height * width else {
                fatalError("preprocessing gave \(pixels.count) values for a \(width)x\(height) output")
            }
        }
    }
}
