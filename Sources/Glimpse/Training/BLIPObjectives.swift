import GlimpseCore

extension BLIPRetrievalModel {
    /// BLIP's two retrieval objectives on one batch, as a tape differentiates them.
    public struct Losses {
        /// Image–text contrastive (ITC).
        public let contrastive: Tensor
        /// Image–text matching (ITM) over the pairs and their hard negatives.
        public let matching: Tensor
        /// The negatives ITM used.
        public let negatives: HardNegatives
        /// ITC + ITM, the sum BLIP trains on.
        public var total: Tensor { added(contrastive, matching) }
    }

    /// ITC and ITM on a batch of matching pairs (image i goes with text i), as BLIP's
    /// pre-training and retrieval fine-tuning compute them within a batch: the contrastive loss
    /// over the projected class tokens (`blipContrastiveLoss`, soft targets when
    /// `momentumSimilarities` is given), then the matching head on every pair (label 1), on
    /// text i with a negative image and on a negative text with image i (label 0), the
    /// negatives chosen by `negatives` from the contrastive similarities — normally
    /// `HardNegatives.sample` with a seeded generator. Ids are used as given ([CLS] first),
    /// the same for both objectives, as inference feeds them.
    public func contrastiveAndMatchingLosses(pixels: Tensor, ids: [[Int]], temperature: Tensor,
                                             momentumSimilarities: Tensor? = nil, alpha: Float = 0.4,
                                             negatives: (Tensor) throws -> HardNegatives) throws -> Losses {
        let n = ids.count
        guard pixels.rank == 4, pixels.shape[0] == n, n >= 2 else {
            throw GlimpseError.invalidArgument("BLIP training: \(pixels.rank == 4 ? pixels.shape[0] : 0) images for \(n) texts; a batch holds at least 2 matching pairs")
        }
        let imageStates = try vision(pixels)
        let tokens = imageStates.shape[0] / n
        let imageFeatures = visionProjection(imageStates.gatherRows((0 ..< n).map { $0 * tokens }))
        let (textStates, sequences) = try textEncoder(ids, causal: false)
        let textFeatures = textProjection(textStates.gatherRows(sequences.map(\.lowerBound)))
        let (contrastive, similarities) = try blipContrastiveLoss(
            imageFeatures: imageFeatures, textFeatures: textFeatures, temperature: temperature,
            momentumSimilarities: momentumSimilarities, alpha: alpha)
        let chosen = try negatives(similarities)
        guard chosen.textForImage.count == n, chosen.imageForText.count == n,
              (chosen.textForImage + chosen.imageForText).allSatisfy({ (0 ..< n).contains($0) }) else {
            throw GlimpseError.invalidArgument("BLIP training: hard negatives must name one text and one image of the \(n) pairs each")
        }
        let texts = ids + ids + chosen.textForImage.map { ids[$0] }
        let imageOf = Array(0 ..< n) + chosen.imageForText + Array(0 ..< n)
        let logits = try itmLogits(imageStates: imageStates, images: n, ids: texts, imageOf: imageOf)
        let matching = try crossEntropy(logits, targets: [Int](repeating: 1, count: n) + [Int](repeating: 0, count: 2 * n))
        return Losses(contrastive: contrastive, matching: matching, negatives: chosen)
    }
}

extension BLIPCaptioningModel {
    /// BLIP's language-modelling objective (the captioner's): the decoder reads each caption
    /// ([DEC] first, [SEP] last) looking at its image and predicts every next token;
    /// cross-entropy with label smoothing (0.1 in BLIP's training) over all predicted tokens
    /// of the batch.
    public func languageModelingLoss(pixels: Tensor, ids: [[Int]], labelSmoothing: Float = 0.1) throws -> Tensor {
        guard pixels.rank == 4, pixels.shape[0] == ids.count, !ids.isEmpty else {
            throw GlimpseError.invalidArgument("BLIP training: \(pixels.rank == 4 ? pixels.shape[0] : 0) images for \(ids.count) captions; a batch holds matching pairs")
        }
        let (_, memory) = try encode(pixels: pixels)
        let logits = try decoder.logits(ids, cross: memory)
        var start = 0
        let sequences = ids.map { caption -> Range<Int> in
            defer { start += caption.count }
            return start ..< start + caption.count
        }
        return try GlimpseCore.languageModelingLoss(logits: logits, labels: ids, sequences: sequences, labelSmoothing: labelSmoothing)
    }
}
