import Foundation
import GlimpseCore
import GlimpseImage

/// BLIP's image processor (transformers' BlipImageProcessor): squash to 384×384, bicubic,
/// rescale, OpenAI CLIP mean/std, no center crop. Keys missing from preprocessor_config.json
/// take *these* defaults, not CLIP's: a saved BLIP config usually omits `do_center_crop`.
public enum BLIPImageProcessor {
    public static func load(folder: URL) throws -> ImagePreprocessor {
        let loaded = try ImagePreprocessor.load(folder: folder)
        var config = loaded.config
        let url = folder.appendingPathComponent("preprocessor_config.json")
        let keys = (try? ConfigReader(contentsOf: url, what: "preprocessor configuration"))?.values.keys.map { $0 } ?? []
        if !keys.contains("do_center_crop") { config.doCenterCrop = false }
        if !keys.contains("size") { config.size = .exact(height: 384, width: 384) }
        return ImagePreprocessor(config: config, source: loaded.source)
    }
}
