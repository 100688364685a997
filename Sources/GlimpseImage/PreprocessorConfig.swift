import Foundation
import GlimpseBase

/// The image half of a Hugging Face `preprocessor_config.json`.
///
/// Missing keys take `CLIPImageProcessor`'s defaults, unknown keys are ignored (configs carry
/// tokenizer and processor-class keys too), and present keys of the wrong type or out of range
/// are `GlimpseError.invalidConfig` errors naming the file and key, because a silently misread
/// size or mean would give plausible but wrong embeddings. Read through `ConfigReader`, like
/// every other JSON config.
public struct PreprocessorConfig: Sendable, Equatable {
    /// How `size` chooses the resize target, in transformers' order of precedence.
    public enum Size: Sendable, Equatable {
        /// Shorter side to `shortestEdge`, aspect kept (long side truncated, as transformers
        /// does); with `longestEdge`, capped as in `get_size_with_aspect_ratio`.
        case shortestEdge(Int, longestEdge: Int?)
        /// Squash to exactly `height x width` (BLIP, OWL-ViT).
        case exact(height: Int, width: Int)
    }

    public var doResize = true
    public var size = Size.shortestEdge(224, longestEdge: nil)
    public var resample = Resize.Filter.bicubic
    public var doCenterCrop = true
    public var cropHeight = 224, cropWidth = 224
    public var doRescale = true
    public var rescaleFactor = 1.0 / 255.0
    public var doNormalize = true
    public var imageMean: [Double] = [0.48145466, 0.4578275, 0.40821073]  // OPENAI_CLIP_MEAN
    public var imageStd: [Double] = [0.26862954, 0.26130258, 0.27577711]   // OPENAI_CLIP_STD
    /// Accepted for completeness; decoded images are always RGB already.
    public var doConvertRGB = true

    /// Whose arithmetic the rescale and crop follow; not part of preprocessor_config.json.
    public enum Arithmetic: Sendable, Equatable {
        /// transformers: `uint8 · rescale_factor` in float64 then float32; crop offset ⌊(in − crop) / 2⌋.
        case transformers
        /// torchvision (open_clip): `ToTensor` divides in float32 (the factor's reciprocal);
        /// `CenterCrop` offset round((in − crop) / 2), halves to even, as Python's round.
        case torchvision
    }
    public var arithmetic = Arithmetic.transformers

    /// CLIP's defaults.
    public init() {}

    /// Reads a config over another model family's defaults. `squareIntegerSize`: a bare integer
    /// `size` means a square of that side (`default_to_square=True`, as OWL-ViT's processor
    /// reads its hub configs), not CLIP's shortest edge. `path` names the file in errors.
    public init(data: Data, defaults: PreprocessorConfig = PreprocessorConfig(), squareIntegerSize: Bool = false,
                path: String = "preprocessor_config.json") throws {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw GlimpseError.invalidFile(path: path, reason: "is not valid JSON")
        }
        guard let values = object as? [String: Any] else {
            throw GlimpseError.invalidConfig("\(path): must be a JSON object, found \(Self.describe(object))")
        }
        try self.init(reader: ConfigReader(values: values, context: path), defaults: defaults, squareIntegerSize: squareIntegerSize)
    }

    /// Reads the keys of `reader` (a `preprocessor_config.json`) over `defaults`.
    public init(reader r: ConfigReader, defaults: PreprocessorConfig = PreprocessorConfig(), squareIntegerSize: Bool = false) throws {
        var c = defaults
        c.doResize = try r.bool("do_resize", default: c.doResize)
        if let size = try Self.parseSize(r) {
            c.size = size
            if squareIntegerSize, r.values["size"] is NSNumber, case .shortestEdge(let n, _) = size { c.size = .exact(height: n, width: n) }
        }
        if let code = try r.optionalInt("resample") {
            guard let filter = Resize.Filter(rawValue: code) else {
                throw GlimpseError.invalidConfig("\(r.context): 'resample' \(code) is not supported (use 1 lanczos, 2 bilinear, 3 bicubic, 4 box or 5 hamming; 0 nearest is not implemented)")
            }
            c.resample = filter
        }
        c.doCenterCrop = try r.bool("do_center_crop", default: c.doCenterCrop)
        if let crop = r.values["crop_size"], !(crop is NSNull) {
            if crop is NSNumber {
                let n = try Self.side(crop, "crop_size", r.context)
                (c.cropHeight, c.cropWidth) = (n, n)
            } else if let d = crop as? [String: Any] {
                guard let h = d["height"], let w = d["width"] else {
                    throw GlimpseError.invalidConfig("\(r.context): 'crop_size' must have 'height' and 'width', found keys \(d.keys.sorted())")
                }
                (c.cropHeight, c.cropWidth) = (try Self.side(h, "crop_size.height", r.context), try Self.side(w, "crop_size.width", r.context))
            } else {
                throw GlimpseError.invalidConfig("\(r.context): 'crop_size' must be an integer or {\"height\", \"width\"}, found \(Self.describe(crop))")
            }
        }
        c.doRescale = try r.bool("do_rescale", default: c.doRescale)
        c.rescaleFactor = try r.double("rescale_factor", default: c.rescaleFactor)
        guard c.rescaleFactor.isFinite else {
            throw GlimpseError.invalidConfig("\(r.context): 'rescale_factor' must be a finite number, found \(c.rescaleFactor)")
        }
        c.doNormalize = try r.bool("do_normalize", default: c.doNormalize)
        c.imageMean = try Self.parseTriple(r, "image_mean") ?? c.imageMean
        c.imageStd = try Self.parseTriple(r, "image_std") ?? c.imageStd
        guard c.imageStd.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw GlimpseError.invalidConfig("\(r.context): 'image_std' must be finite and non-zero, found \(c.imageStd)")
        }
        c.doConvertRGB = try r.bool("do_convert_rgb", default: c.doConvertRGB)
        self = c
    }

    /// `size` in transformers' forms: a bare integer (legacy shortest edge), [height, width],
    /// {"shortest_edge"[, "longest_edge"]} or {"height", "width"}; nil when absent.
    private static func parseSize(_ r: ConfigReader) throws -> Size? {
        guard let value = r.values["size"], !(value is NSNull) else { return nil }
        if value is NSNumber {
            // Legacy bare int: CLIP's default_to_square=False reading.
            return .shortestEdge(try side(value, "size", r.context), longestEdge: nil)
        }
        if let list = value as? [Any], list.count == 2 {
            return .exact(height: try side(list[0], "size[0]", r.context), width: try side(list[1], "size[1]", r.context))
        }
        guard let d = value as? [String: Any] else {
            throw GlimpseError.invalidConfig("\(r.context): 'size' must be an integer or an object, found \(describe(value))")
        }
        if let s = d["shortest_edge"], !(s is NSNull) {
            let longest = try d["longest_edge"].flatMap { $0 is NSNull ? nil : try side($0, "size.longest_edge", r.context) }
            return .shortestEdge(try side(s, "size.shortest_edge", r.context), longestEdge: longest)
        }
        if let h = d["height"], let w = d["width"] {
            return .exact(height: try side(h, "size.height", r.context), width: try side(w, "size.width", r.context))
        }
        throw GlimpseError.invalidConfig("\(r.context): 'size' keys \(d.keys.sorted()) are not supported (use shortest_edge, or height and width)")
    }

    /// A preprocessing size: an integer from 1 to `Limits.preprocessedSide`.
    private static func side(_ value: Any, _ key: String, _ context: String) throws -> Int {
        guard let number = value as? NSNumber, !ConfigReader.isBoolean(number), let n = Int(exactly: number.doubleValue),
              (1...Limits.preprocessedSide).contains(n) else {
            throw GlimpseError.invalidConfig(
                "\(context): '\(key)' must be an integer from 1 to \(Limits.preprocessedSide), found \(describe(value))")
        }
        return n
    }

    /// `image_mean` / `image_std`: one number for all channels or three finite numbers; nil when absent.
    private static func parseTriple(_ r: ConfigReader, _ key: String) throws -> [Double]? {
        guard let value = r.values[key], !(value is NSNull) else { return nil }
        let items = value is NSNumber ? [value] : value as? [Any] ?? []
        let numbers = items.compactMap { item -> Double? in
            guard let n = item as? NSNumber, !ConfigReader.isBoolean(n), n.doubleValue.isFinite else { return nil }
            return n.doubleValue
        }
        guard numbers.count == items.count, numbers.count == 1 || numbers.count == 3 else {
            throw GlimpseError.invalidConfig("\(r.context): '\(key)' must be a number or a list of 3 numbers, found \(describe(value))")
        }
        return numbers.count == 1 ? [numbers[0], numbers[0], numbers[0]] : numbers
    }

    /// A JSON value as it appears in the file, short enough for an error message.
    static func describe(_ value: Any) -> String {
        if let number = value as? NSNumber {
            return ConfigReader.isBoolean(number) ? String(number.boolValue) : number.stringValue
        }
        if value is NSNull { return "null" }
        if let string = value as? String { return "\"\(string.prefix(40))\"" }
        if let list = value as? [Any] { return "[" + list.prefix(8).map(describe).joined(separator: ", ") + (list.count > 8 ? ", …]" : "]") }
        if let object = value as? [String: Any] { return "{" + object.keys.sorted().prefix(8).joined(separator: ", ") + "}" }
        return String(describing: value).prefix(40).description
    }
}
