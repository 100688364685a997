import Foundation
import GlimpseBase

/// The image half of a Hugging Face `preprocessor_config.json`.
///
/// Missing keys take `CLIPImageProcessor`'s defaults, unknown keys are ignored (configs carry
/// tokenizer and processor-class keys too), and present keys of the wrong type are
/// `GlimpseError.invalidConfig` errors naming the key, because a silently misread size or
/// mean would give plausible but wrong embeddings.
public struct PreprocessorConfig: Sendable, Decodable, Equatable {
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

    public init(from decoder: Decoder) throws {
        try self.init(json: JSONValue(from: decoder), defaults: PreprocessorConfig(), squareIntegerSize: false)
    }

    /// Reads a config over another model family's defaults. `squareIntegerSize`: a bare integer
    /// `size` means a square of that side (`default_to_square=True`, as OWL-ViT's processor
    /// reads its hub configs), not CLIP's shortest edge.
    public init(data: Data, defaults: PreprocessorConfig, squareIntegerSize: Bool) throws {
        let json: JSONValue
        do { json = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw GlimpseError.invalidFile(path: "preprocessor config", reason: "is not valid JSON")
        }
        try self.init(json: json, defaults: defaults, squareIntegerSize: squareIntegerSize)
    }

    init(json all: JSONValue, defaults: PreprocessorConfig, squareIntegerSize: Bool) throws {
        guard case .object(let o) = all else { throw GlimpseError.invalidConfig("preprocessor config must be a JSON object") }
        var c = defaults
        c.doResize = try o.bool("do_resize") ?? c.doResize
        if let size = o["size"], size != .null {
            c.size = try Self.parseSize(size)
            if squareIntegerSize, case .number = size, case .shortestEdge(let n, _) = c.size { c.size = .exact(height: n, width: n) }
        }
        if let r = try o.int("resample") {
            guard let filter = Resize.Filter(rawValue: r) else {
                throw GlimpseError.invalidConfig("'resample' \(r) is not supported (use 1 lanczos, 2 bilinear, 3 bicubic, 4 box or 5 hamming; 0 nearest is not implemented)")
            }
            c.resample = filter
        }
        c.doCenterCrop = try o.bool("do_center_crop") ?? c.doCenterCrop
        if let crop = o["crop_size"], crop != .null {
            switch crop {
            case .number:
                let n = try crop.positiveInt("crop_size")
                (c.cropHeight, c.cropWidth) = (n, n)
            case .object(let d):
                guard let h = d["height"], let w = d["width"] else {
                    throw GlimpseError.invalidConfig("'crop_size' must have 'height' and 'width', found keys \(d.keys.sorted())")
                }
                (c.cropHeight, c.cropWidth) = (try h.positiveInt("crop_size.height"), try w.positiveInt("crop_size.width"))
            default:
                throw GlimpseError.invalidConfig("'crop_size' must be an integer or {\"height\", \"width\"}, found \(crop)")
            }
        }
        c.doRescale = try o.bool("do_rescale") ?? c.doRescale
        c.rescaleFactor = try o.double("rescale_factor") ?? c.rescaleFactor
        c.doNormalize = try o.bool("do_normalize") ?? c.doNormalize
        c.imageMean = try Self.parseTriple(o["image_mean"], "image_mean") ?? c.imageMean
        c.imageStd = try Self.parseTriple(o["image_std"], "image_std") ?? c.imageStd
        guard c.imageStd.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw GlimpseError.invalidConfig("'image_std' must be finite and non-zero, found \(c.imageStd)")
        }
        c.doConvertRGB = try o.bool("do_convert_rgb") ?? c.doConvertRGB
        self = c
    }

    private static func parseSize(_ v: JSONValue) throws -> Size {
        switch v {
        case .number:
            // Legacy bare int: CLIP's default_to_square=False reading.
            return .shortestEdge(try v.positiveInt("size"), longestEdge: nil)
        case .array(let a) where a.count == 2:
            return .exact(height: try a[0].positiveInt("size[0]"), width: try a[1].positiveInt("size[1]"))
        case .object(let d):
            if let s = d["shortest_edge"], s != .null {
                let longest = try d["longest_edge"].flatMap { $0 == .null ? nil : try $0.positiveInt("size.longest_edge") }
                return .shortestEdge(try s.positiveInt("size.shortest_edge"), longestEdge: longest)
            }
            if let h = d["height"], let w = d["width"] {
                return .exact(height: try h.positiveInt("size.height"), width: try w.positiveInt("size.width"))
            }
            throw GlimpseError.invalidConfig("'size' keys \(d.keys.sorted()) are not supported (use shortest_edge, or height and width)")
        default:
            throw GlimpseError.invalidConfig("'size' must be an integer or an object, found \(v)")
        }
    }

    private static func parseTriple(_ v: JSONValue?, _ key: String) throws -> [Double]? {
        guard let v, v != .null else { return nil }
        switch v {
        case .number(let x): return [x, x, x]
        case .array(let a) where a.count == 3:
            return try a.map { e in
                guard case .number(let x) = e else { throw GlimpseError.invalidConfig("'\(key)' must hold numbers, found \(e)") }
                return x
            }
        default: throw GlimpseError.invalidConfig("'\(key)' must be a number or a list of 3 numbers, found \(v)")
        }
    }
}

/// Just enough of JSON to type-check config values ourselves and give messages that
/// name the key, rather than `DecodingError`'s coding paths.
enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().joined(separator: ", ") + "}"
        }
    }

    func positiveInt(_ key: String) throws -> Int {
        guard case .number(let n) = self, n == n.rounded(), n >= 1, n <= 1_048_576 else {
            throw GlimpseError.invalidConfig("'\(key)' must be a positive integer, found \(self)")
        }
        return Int(n)
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    func bool(_ key: String) throws -> Bool? {
        switch self[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let v?: throw GlimpseError.invalidConfig("'\(key)' must be true or false, found \(v)")
        }
    }

    func double(_ key: String) throws -> Double? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let n)? where n.isFinite: return n
        case let v?: throw GlimpseError.invalidConfig("'\(key)' must be a number, found \(v)")
        }
    }

    func int(_ key: String) throws -> Int? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let n)? where n == n.rounded() && abs(n) < 1e9: return Int(n)
        case let v?: throw GlimpseError.invalidConfig("'\(key)' must be an integer, found \(v)")
        }
    }
}
