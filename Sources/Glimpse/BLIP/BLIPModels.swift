import GlimpseCore

/// BLIP for captioning (transformers' BlipForConditionalGeneration): the image encoder and
/// the image-grounded text decoder.
public final class BLIPCaptioningModel: Sendable {
    public let config: BLIPConfig
    public let vision: BLIPVisionTransformer
    public let decoder: BLIPTextDecoder

    public init(config: BLIPConfig, weights: WeightStore) throws {
        self.config = config
        vision = try VisionTransformer(weights, prefix: "vision_model", config: config.vision, names: .blip)
        decoder = try BLIPTextDecoder(weights, prefix: "text_decoder", config: config.text)
    }

    public convenience init(checkpoint: Checkpoint) throws {
        try self.init(config: BLIPConfig(reader: checkpoint.config()), weights: checkpoint.weights())
    }

    /// Image tokens (last_hidden_state, [B·positions, hidden]) and their cross-attention memory.
    public func encode(pixels: Tensor) throws -> (states: Tensor, memory: CrossAttentionMemory) {
        let states = try vision(pixels)
        return (states, try decoder.bert.crossAttentionMemory(imageStates: states, images: pixels.shape[0]))
    }
}

/// BLIP for retrieval (transformers' BlipForImageTextRetrieval): image-text matching (ITM,
/// the text encoder cross-attending to the image, a 2-way head on the first token) and
/// image-text contrastive similarity (ITC, the text encoder alone, both [CLS]/class tokens
/// projected to a shared space and normalised).
public final class BLIPRetrievalModel: Sendable {
    public let config: BLIPConfig
    public let vision: BLIPVisionTransformer
    public let textEncoder: BERTEncoder
    let visionProjection, textProjection, itmHead: Linear

    public init(config: BLIPConfig, weights: WeightStore) throws {
        self.config = config
        vision = try VisionTransformer(weights, prefix: "vision_model", config: config.vision, names: .blip)
        textEncoder = try BERTEncoder(weights, prefix: "text_encoder", config: config.text.bert)
        let e = config.imageTextHiddenSize, dt = config.text.bert.tower.hiddenSize
        visionProjection = try Linear(weights, "vision_proj", in: config.vision.tower.hiddenSize, out: e, exact: true)
        textProjection = try Linear(weights, "text_proj", in: dt, out: e, exact: true)
        itmHead = try Linear(weights, "itm_head", in: dt, out: 2, exact: true)
    }

    public convenience init(checkpoint: Checkpoint) throws {
        try self.init(config: BLIPConfig(reader: checkpoint.config()), weights: checkpoint.weights())
    }

    /// ITM logits [pairs, 2] (no-match, match): text i with image `imageOf[i]` of the encoded
    /// image states ([images·positions, hidden]). Ids are used as given; transformers feeds
    /// the processor's [CLS]-prefixed ids.
    public func itmLogits(imageStates: Tensor, images: Int, ids: [[Int]], imageOf: [Int]) throws -> Tensor {
        let memory = try textEncoder.crossAttentionMemory(imageStates: imageStates, images: images)
        let (states, sequences) = try textEncoder(ids, causal: false, cross: memory, imageOf: imageOf)
        return itmHead(firstRows(states, sequences))
    }

    /// ITC image embeddings [images, 256]: the class token projected and L2-normalised.
    public func imageEmbeddings(imageStates: Tensor, images: Int) -> Tensor {
        let n = imageStates.shape[0] / images
        let features = visionProjection(firstRows(imageStates, (0 ..< images).map { $0 * n ..< ($0 + 1) * n }))
        l2NormalizeInPlace(features)
        return features
    }

    /// ITC text embeddings [texts, 256]: the text encoder without the image ("text" mode),
    /// first token projected and L2-normalised.
    public func textEmbeddings(ids: [[Int]]) throws -> Tensor {
        let (states, sequences) = try textEncoder(ids, causal: false)
        let features = textProjection(firstRows(states, sequences))
        l2NormalizeInPlace(features)
        return features
    }

    private func firstRows(_ states: Tensor, _ sequences: [Range<Int>]) -> Tensor {
        states.gatherRows(sequences.map(\.lowerBound))
    }
}

extension BLIPCaptioningModel {
    /// Captions for pixel values [B, C, H, W], as transformers' `generate`: the decoder input
    /// is [DEC] followed by `promptIds` (the prompt's word pieces without [CLS]/[SEP]), and
    /// generation stops at [SEP]. Returned ids keep [DEC] and the prompt, as the reference's do.
    /// `seeds` (sampling only): one per image and returned sequence, see `Generator.generate`.
    public func generate(pixels: Tensor, promptIds: [Int] = [], options: GenerationOptions = .init(),
                         seeds: [[UInt64]]? = nil) throws -> [[GeneratedSequence]] {
        let (_, memory) = try encode(pixels: pixels)
        let decoder = BLIPCaptionDecoder(decoder: self.decoder, memory: memory)
        return try Generator.generate(decoder, inputs: pixels.shape[0], prompt: [config.text.bosTokenId] + promptIds,
                                      eos: config.text.sepTokenId, options: options, seeds: seeds)
    }
}
