import Foundation
import GlimpseCore
import GlimpseImage

/// The CLIP paper's modified ResNet image tower (RN50, RN101, RN50x4, …), as open_clip configures it.
public struct ModifiedResNetConfig: Sendable, Equatable {
    /// Bottleneck blocks in each of the four stages.
    public var layers: [Int]
    /// Channels of the first stage; the stem's first two convolutions use half of it, the
    /// features entering the attention pool are 32 times it.
    public var width: Int
    public var heads: Int
    public var imageSize: Int
    public var outputDim: Int

    public var featureDim: Int { width * 32 }
    /// Side of the feature grid the attention pool sees (the tower downsamples by 32).
    public var gridSize: Int { imageSize / 32 }
}

/// An open_clip checkpoint's `open_clip_config.json` (`model_cfg` + `preprocess_cfg`, the layout
/// of the `timm/*` and `laion/*` CLIP repositories on the Hugging Face Hub), read into the
/// configurations of the towers Glimpse implements. Defaults are open_clip's `CLIPVisionCfg`
/// and `CLIPTextCfg`; options that change the computation and are not implemented here
/// (timm or Hugging Face towers, layer scale, attentional pooling, custom attention blocks)
/// are errors naming the option, never silently ignored.
public struct OpenCLIPConfig: Sendable {
    public enum Vision: Sendable, Equatable {
        case transformer(CLIPVisionConfig)
        case resnet(ModifiedResNetConfig)
    }

    public static let fileName = "open_clip_config.json"

    public var vision: Vision
    public var text: CLIPTextConfig
    public var embedDim: Int
    /// CustomTextCLIP layout: the text tower's parameters are under `text.`.
    public var customText: Bool
    /// open_clip's eval transform (torchvision on PIL images) as a preprocessor configuration.
    public var preprocess: PreprocessorConfig

    /// The folder's open_clip configuration, or nil for a folder without `open_clip_config.json`.
    public init?(checkpoint: Checkpoint) throws {
        guard checkpoint.exists(Self.fileName) else { return nil }
        try self.init(reader: ConfigReader(contentsOf: checkpoint.file(Self.fileName), what: Self.fileName))
    }

    public init(reader: ConfigReader) throws {
        let model = try reader.section("model_cfg") ?? reader
        guard let visionSection = try model.section("vision_cfg"), let textSection = try model.section("text_cfg") else {
            throw GlimpseError.invalidConfig("\(model.context): needs 'vision_cfg' and 'text_cfg'; is this an open_clip model config?")
        }
        embedDim = try model.dimension("embed_dim")
        customText = try model.bool("custom_text", default: false)
        let activation: Activation = try model.bool("quick_gelu", default: false) ? .quickGelu : .gelu

        let t = textSection
        try Self.rejectUnsupported(t, textOnly: true)
        let textWidth = try t.dimension("width", default: 512)
        let textTower = CLIPTowerConfig(hiddenSize: textWidth, intermediateSize: try Self.mlpWidth(t, width: textWidth),
                                        layers: try t.count("layers", default: 12), heads: try t.dimension("heads", default: 8),
                                        activation: activation, layerNormEps: try Self.eps(t))
        guard textWidth % textTower.heads == 0 else { throw GlimpseError.invalidConfig("\(t.context): width \(textWidth) is not divisible by heads \(textTower.heads)") }
        text = CLIPTextConfig(tower: textTower, vocabularySize: try t.dimension("vocab_size", default: 49408),
                              maxPositions: try t.dimension("context_length", default: 77))

        let v = visionSection
        try Self.rejectUnsupported(v, textOnly: false)
        let imageSize = try Self.squareSize(v)
        let width = try v.dimension("width", default: 768)
        let headWidth = try v.dimension("head_width", default: 64)
        if let stages = v.values["layers"] as? [Any] {
            let layers = stages.compactMap { if case .integer(let n) = JSONInteger($0) { return n } else { return nil } }
            guard layers.count == 4, stages.count == 4, layers.allSatisfy({ (1 ... Limits.configDimension).contains($0) }) else {
                throw GlimpseError.invalidConfig("\(v.context): 'layers' of a ResNet must be four positive block counts, found \(stages)")
            }
            guard width % 2 == 0, (width * 32) % headWidth == 0, imageSize >= 32 else {
                throw GlimpseError.invalidConfig("\(v.context): ResNet width \(width), head_width \(headWidth), image_size \(imageSize) do not fit together")
            }
            vision = .resnet(ModifiedResNetConfig(layers: layers, width: width, heads: width * 32 / headWidth,
                                                  imageSize: imageSize, outputDim: embedDim))
        } else {
            guard width % headWidth == 0 else { throw GlimpseError.invalidConfig("\(v.context): width \(width) is not divisible by head_width \(headWidth)") }
            let tower = CLIPTowerConfig(hiddenSize: width, intermediateSize: try Self.mlpWidth(v, width: width),
                                        layers: try v.count("layers", default: 12), heads: width / headWidth,
                                        activation: activation, layerNormEps: try Self.eps(v))
            let patch = try v.dimension("patch_size", default: 16)
            guard imageSize % patch == 0 else { throw GlimpseError.invalidConfig("\(v.context): image_size \(imageSize) is not a multiple of patch_size \(patch)") }
            vision = .transformer(CLIPVisionConfig(tower: tower, imageSize: imageSize, patchSize: patch))
        }
        preprocess = try Self.preprocess(reader.section("preprocess_cfg"), imageSize: imageSize)
    }

    private static func squareSize(_ v: ConfigReader) throws -> Int {
        if let pair = v.values["image_size"] as? [Any] {
            let sides = pair.compactMap { if case .integer(let n) = JSONInteger($0) { return n } else { return nil } }
            guard sides.count == 2, pair.count == 2, sides[0] == sides[1], (1 ... Limits.configDimension).contains(sides[0]) else {
                throw GlimpseError.unsupported("\(v.context): image_size \(pair); only square images are supported")
            }
            return sides[0]
        }
        return try v.dimension("image_size", default: 224)
    }

    /// The MLP width, `width × mlp_ratio` truncated as open_clip's `int(width * mlp_ratio)`:
    /// a finite positive ratio giving a width within `Limits.configDimension`.
    private static func mlpWidth(_ section: ConfigReader, width: Int) throws -> Int {
        let ratio = try section.positive("mlp_ratio", default: 4)
        let mlp = (Double(width) * ratio).rounded(.towardZero)
        guard mlp >= 1, mlp <= Double(Limits.configDimension) else {
            throw GlimpseError.invalidConfig("\(section.context): width \(width) × mlp_ratio \(ratio) gives an MLP width of \(mlp), not 1 through \(Limits.configDimension)")
        }
        return Int(mlp)
    }

    private static func eps(_ section: ConfigReader) throws -> Float {
        guard let norm = try section.section("norm_kwargs") else { return 1e-5 }
        guard Set(norm.values.keys).isSubset(of: ["eps"]) else {
            throw GlimpseError.unsupported("\(norm.context): only 'eps' is supported, found \(norm.values.keys.sorted())")
        }
        return Float(try norm.positive("eps", default: 1e-5))
    }

    private static func rejectUnsupported(_ s: ConfigReader, textOnly: Bool) throws {
        let absent = textOnly ? ["hf_model_name", "ls_init_value", "act_kwargs"] : ["timm_model_name", "ls_init_value", "act_kwargs"]
        let off = ["qk_norm", "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc"]
            + (textOnly ? ["embed_cls", "no_causal_mask", "proj_bias"] : ["attentional_pool", "no_ln_pre"])
        for key in absent where s.contains(key) { throw GlimpseError.unsupported("\(s.context): '\(key)' is not supported") }
        for key in off where try s.bool(key, default: false) { throw GlimpseError.unsupported("\(s.context): '\(key)' is not supported") }
        let required = textOnly ? [("pool_type", "argmax"), ("proj_type", "linear")] : [("pool_type", "tok"), ("pos_embed_type", "learnable")]
        for (key, value) in required + [("block_type", "default")] where try s.string(key, default: value) != value {
            throw GlimpseError.unsupported("\(s.context): \(key) '\(try s.string(key))' (only '\(value)' is supported)")
        }
    }

    /// open_clip's `image_transform(is_train=False)`: resize (shortest edge, or squash), center
    /// crop, ToTensor, Normalize — torchvision arithmetic on PIL resampling.
    static func preprocess(_ section: ConfigReader?, imageSize: Int) throws -> PreprocessorConfig {
        var config = PreprocessorConfig()
        config.arithmetic = .torchvision
        config.rescaleFactor = 1 / 255
        config.size = .shortestEdge(imageSize, longestEdge: nil)
        (config.cropHeight, config.cropWidth) = (imageSize, imageSize)
        guard let pp = section else { return config }
        func triple(_ key: String) throws -> [Double]? {
            guard let raw = pp.values[key], !(raw is NSNull) else { return nil }
            if let x = raw as? NSNumber, !(raw is Bool) { return [x.doubleValue, x.doubleValue, x.doubleValue] }
            guard let list = raw as? [Any], list.count == 3, case let numbers = list.compactMap({ ($0 as? NSNumber)?.doubleValue }), numbers.count == 3,
                  numbers.allSatisfy(\.isFinite) else {
                throw GlimpseError.invalidConfig("\(pp.context): '\(key)' must be a number or three numbers, found \(raw)")
            }
            return numbers
        }
        config.imageMean = try triple("mean") ?? config.imageMean
        config.imageStd = try triple("std") ?? config.imageStd
        guard config.imageStd.allSatisfy({ $0 != 0 }) else { throw GlimpseError.invalidConfig("\(pp.context): 'std' must be non-zero") }
        switch try pp.string("interpolation", default: "bicubic") {
        case "bicubic", "random": config.resample = .bicubic  // 'random' is a training option; eval uses bicubic
        case "bilinear": config.resample = .bilinear
        case let other: throw GlimpseError.unsupported("\(pp.context): interpolation '\(other)'")
        }
        switch try pp.string("resize_mode", default: "shortest") {
        case "shortest": break
        case "squash":
            config.size = .exact(height: imageSize, width: imageSize)
            config.doCenterCrop = false
        case let other: throw GlimpseError.unsupported("\(pp.context): resize_mode '\(other)' (supported: shortest, squash)")
        }
        return config
    }
}
