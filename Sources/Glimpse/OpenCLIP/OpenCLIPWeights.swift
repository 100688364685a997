import Foundation
import GlimpseCore

extension Checkpoint {
    /// The weights of an open_clip folder: `open_clip_model.safetensors`, else
    /// `open_clip_pytorch_model.bin`. (A `model.safetensors` beside them in `timm/*`
    /// repositories is timm's image tower alone, so it is not looked at.)
    public func openCLIPWeights() throws -> WeightStore {
        if exists("open_clip_model.safetensors") { return try atPrecision(SafetensorsFile(path: file("open_clip_model.safetensors").path)) }
        if exists("open_clip_pytorch_model.bin") { return try atPrecision(TorchCheckpointFile(path: file("open_clip_pytorch_model.bin").path)) }
        throw GlimpseError.fileNotFound(path: folder.path, what: "open_clip weights (open_clip_model.safetensors or open_clip_pytorch_model.bin) in model folder")
    }
}

/// An open_clip state dict seen under the Hugging Face parameter names the CLIP towers load
/// (`visual.transformer.resblocks.3.mlp.c_fc.weight` → `vision_model.encoder.layers.3.mlp.fc1.weight`).
/// The fused attention input projection `in_proj_weight` [3·d, d] is split into q/k/v views
/// of its rows — pointers into the same bytes, no copy. Names with no counterpart (the ResNet
/// tower's, whose model reads open_clip names, `visual.proj`, `text_projection`) are kept.
struct OpenCLIPWeights: WeightStore {
    let entries: [String: TensorEntry]
    let precision: Precision?

    init(_ store: WeightStore, customText: Bool, visionTransformer: Bool) throws {
        precision = store.precision
        var entries: [String: TensorEntry] = [:]
        for (name, entry) in store.entries {
            var key = name
            if customText, key.hasPrefix("text.") { key.removeFirst(5) }
            if key.hasPrefix("visual.") {
                if visionTransformer { key = Self.renameVision(String(key.dropFirst(7))) }
            } else if let tower = Self.renameText(key) {
                key = tower
            }
            if key.hasSuffix(".attn.in_proj_weight") || key.hasSuffix(".attn.in_proj_bias") {
                let isWeight = key.hasSuffix("weight")
                let layer = key.dropLast(isWeight ? 20 : 18)
                guard let rows = entry.shape.first, rows % 3 == 0, entry.shape.count == (isWeight ? 2 : 1) else {
                    throw GlimpseError.shapeMismatch(tensor: name, expected: isWeight ? [3, -1] : [3], actual: entry.shape)
                }
                let part = rows / 3 * (isWeight ? entry.shape[1] : 1) * entry.dtype.byteSize
                for (i, projection) in ["q_proj", "k_proj", "v_proj"].enumerated() {
                    entries["\(layer).self_attn.\(projection).\(isWeight ? "weight" : "bias")"] = TensorEntry(
                        dtype: entry.dtype, shape: [rows / 3] + entry.shape.dropFirst(), bytes: entry.bytes + i * part,
                        owner: entry.owner, file: entry.file)
                }
                continue
            }
            entries[key] = entry
        }
        self.entries = entries
    }

    static let blockParts = [("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("attn.out_proj.", "self_attn.out_proj."),
                             ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2."), ("attn.in_proj_", "attn.in_proj_")]

    /// `transformer.resblocks.N.<part>` → `<prefix>.encoder.layers.N.<hf part>`.
    static func renameBlock(_ name: String, prefix: String) -> String? {
        guard name.hasPrefix("transformer.resblocks.") else { return nil }
        let rest = name.dropFirst("transformer.resblocks.".count)
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        let index = rest[..<dot], part = rest[rest.index(after: dot)...]
        for (from, to) in blockParts where part.hasPrefix(from) {
            return "\(prefix).encoder.layers.\(index).\(to)\(part.dropFirst(from.count))"
        }
        return nil
    }

    static func renameVision(_ name: String) -> String {
        if let block = renameBlock(name, prefix: "vision_model") { return block }
        let table = ["conv1.weight": "embeddings.patch_embedding.weight", "class_embedding": "embeddings.class_embedding",
                     "positional_embedding": "embeddings.position_embedding.weight"]
        if let mapped = table[name] { return "vision_model.\(mapped)" }
        if name.hasPrefix("ln_pre.") { return "vision_model.pre_layrnorm." + name.dropFirst(7) }
        if name.hasPrefix("ln_post.") { return "vision_model.post_layernorm." + name.dropFirst(8) }
        return "visual." + name
    }

    static func renameText(_ name: String) -> String? {
        if let block = renameBlock(name, prefix: "text_model") { return block }
        switch name {
        case "token_embedding.weight": return "text_model.embeddings.token_embedding.weight"
        case "positional_embedding": return "text_model.embeddings.position_embedding.weight"
        default: return name.hasPrefix("ln_final.") ? "text_model.final_layer_norm." + name.dropFirst(9) : nil
        }
    }
}

extension CLIPModel {
    /// An open_clip `CLIP` (or `CustomTextCLIP` with open_clip's own text tower): a ViT or
    /// modified ResNet image tower, the text transformer, `x @ text_projection` and
    /// `x @ visual.proj` projections (stored [in, out], the transpose of a Linear weight).
    public convenience init(openCLIP config: OpenCLIPConfig, weights source: WeightStore) throws {
        let isViT = if case .transformer = config.vision { true } else { false }
        let weights = try OpenCLIPWeights(source, customText: config.customText, visionTransformer: isViT)
        let image: any CLIPImageEncoder
        switch config.vision {
        case .transformer(let vision):
            let proj = try weights.tensor("visual.proj", shape: [vision.tower.hiddenSize, config.embedDim])
            image = ProjectedVisionTransformer(transformer: try CLIPVisionTransformer(weights, prefix: "vision_model", config: vision),
                                               projection: Linear(weight: Self.transpose(proj), bias: nil))
        case .resnet(let resnet):
            image = try ModifiedResNet(weights, prefix: "visual", config: resnet)
        }
        let textProjection = try weights.tensor("text_projection", shape: [config.text.tower.hiddenSize, config.embedDim])
        self.init(image: image, text: try CLIPTextTransformer(weights, prefix: "text_model", config: config.text),
                  textProjection: Linear(weight: Self.transpose(textProjection), bias: nil),
                  logitScale: Foundation.exp(try weights.tensor("logit_scale", shape: []).item),
                  logitScaleParameter: try weights.tensor("logit_scale", shape: []))
    }

    static func transpose(_ m: Tensor) -> Tensor {
        let (rows, cols) = (m.shape[0], m.shape[1])
        let t = Tensor(zeros: [cols, rows])
        for r in 0..<rows { for c in 0..<cols { t.data[c * rows + r] = m.data[r * cols + c] } }
        return t
    }
}
