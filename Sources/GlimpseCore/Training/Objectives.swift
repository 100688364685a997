import Foundation

/// CLIP's symmetric contrastive (InfoNCE) loss (Radford et al. 2021, fig. 3), as transformers'
/// `CLIPModel(return_loss=True)` and open_clip's `ClipLoss`: features L2-normalised, logits
/// exp(min(s, maximumLogScale)) · image · textᵀ for the learned log-temperature `logitScale`
/// (one element), and the mean of the cross-entropies of images over texts and texts over
/// images, pair i matching pair i. The clamp at ln 100 is the one CLIP trains with.
public func clipContrastiveLoss(imageFeatures: Tensor, textFeatures: Tensor, logitScale: Tensor,
                                maximumLogScale: Float = Float(log(100.0))) throws -> Tensor {
    guard imageFeatures.rank == 2, textFeatures.rank == 2, imageFeatures.shape == textFeatures.shape,
          imageFeatures.shape[0] > 0 else {
        throw GlimpseError.invalidArgument("contrastive loss: image features \(imageFeatures.shape) and text features \(textFeatures.shape) must be the same non-empty [pairs, dim]")
    }
    guard logitScale.count == 1 else {
        throw GlimpseError.invalidArgument("contrastive loss: logit_scale has shape \(logitScale.shape); expected one element")
    }
    let images = l2Normalized(imageFeatures), texts = l2Normalized(textFeatures)
    let logitsPerImage = scaledByExponential(matmulTransposed(images, texts), logScale: logitScale, maximum: maximumLogScale)
    let logitsPerText = transposed(logitsPerImage)
    let pairs = Array(0 ..< imageFeatures.shape[0])
    let textLoss = try crossEntropy(logitsPerText, targets: pairs)
    let imageLoss = try crossEntropy(logitsPerImage, targets: pairs)
    return scaled(added(textLoss, imageLoss), 0.5)
}

/// The captioner's language-modelling loss (BLIP's LM objective, as transformers'
/// `BlipTextLMHeadModel`): logits [Σ lengths, vocabulary] of packed sequences, each position
/// predicting the next label; cross-entropy with label smoothing (0.1 in BLIP) averaged over
/// every predicted label that is not `ignoreIndex` (padding), across the batch.
public func languageModelingLoss(logits: Tensor, labels: [[Int]], sequences: [Range<Int>],
                                 labelSmoothing: Float = 0.1, ignoreIndex: Int = -100) throws -> Tensor {
    guard labels.count == sequences.count, zip(labels, sequences).allSatisfy({ $0.count == $1.count }),
          logits.rank == 2, logits.shape[0] == sequences.last.map(\.upperBound) ?? 0 else {
        throw GlimpseError.invalidArgument("language-modelling loss: \(labels.count) label lists for \(sequences.count) sequences and logits of shape \(logits.shape) do not match")
    }
    var rows: [Int] = [], targets: [Int] = []
    for (ids, range) in zip(labels, sequences) where range.count > 1 {
        rows += range.lowerBound ..< range.upperBound - 1
        targets += ids.dropFirst()
    }
    return try crossEntropy(logits.gatherRows(rows), targets: targets, labelSmoothing: labelSmoothing, ignoreIndex: ignoreIndex)
}

/// BLIP's image–text contrastive loss (ITC; Li et al. 2022, §3.2, within a batch as
/// blip_pretrain.py computes it without its feature queue): features L2-normalised,
/// similarities divided by the learned `temperature` (one element; BLIP clamps it to
/// [0.001, 0.5] in place before each step), and the mean of the image→text and text→image
/// cross-entropies. Targets are the matching pairs, or with `momentumSimilarities` (the
/// momentum encoder's image→text similarities [B, B]) BLIP's soft targets
/// α·softmax(s_m) + (1 − α)·I, row-wise for images and on the transpose for texts.
/// Also returns the image→text similarities, from which ITM draws its hard negatives.
public func blipContrastiveLoss(imageFeatures: Tensor, textFeatures: Tensor, temperature: Tensor,
                                momentumSimilarities: Tensor? = nil, alpha: Float = 0.4) throws -> (loss: Tensor, similarities: Tensor) {
    guard imageFeatures.rank == 2, textFeatures.rank == 2, imageFeatures.shape == textFeatures.shape,
          imageFeatures.shape[0] > 0 else {
        throw GlimpseError.invalidArgument("contrastive loss: image features \(imageFeatures.shape) and text features \(textFeatures.shape) must be the same non-empty [pairs, dim]")
    }
    let n = imageFeatures.shape[0]
    guard temperature.count == 1, temperature.data[0] > 0 else {
        throw GlimpseError.invalidArgument("contrastive loss: the temperature must be one positive value, got shape \(temperature.shape)")
    }
    let imageToText = divided(matmulTransposed(l2Normalized(imageFeatures), l2Normalized(textFeatures)), by: temperature)
    let textToImage = transposed(imageToText)
    guard let momentum = momentumSimilarities else {
        let pairs = Array(0 ..< n)
        let loss = scaled(added(try crossEntropy(imageToText, targets: pairs), try crossEntropy(textToImage, targets: pairs)), 0.5)
        return (loss, imageToText)
    }
    guard momentum.shape == [n, n], (0 ... 1).contains(alpha) else {
        throw GlimpseError.invalidArgument("contrastive loss: momentum similarities of shape \(momentum.shape) for \(n) pairs and alpha \(alpha); expected [\(n), \(n)] and 0 ... 1")
    }
    func softTargets(_ s: Tensor) -> Tensor {
        let q = Tensor(zeros: [n, n])
        for i in 0 ..< n {
            let row = s.data + i * n
            let peak = (0 ..< n).map { Double(row[$0]) }.max() ?? 0
            let sum = (0 ..< n).reduce(0.0) { $0 + exp(Double(row[$1]) - peak) }
            for j in 0 ..< n {
                q.data[i * n + j] = Float(Double(alpha) * exp(Double(row[j]) - peak) / sum + (i == j ? Double(1 - alpha) : 0))
            }
        }
        return q
    }
    let constant = momentum.copy()  // a copy: never a tensor the tape differentiates
    let loss = scaled(added(try crossEntropy(imageToText, softTargets: softTargets(constant)),
                            try crossEntropy(textToImage, softTargets: softTargets(transposed(constant)))), 0.5)
    return (loss, imageToText)
}

/// BLIP's hard negatives for image–text matching: for each image a text, and for each text an
/// image, drawn with probability ∝ softmax(similarity row) + 1e-4, the matching pair excluded
/// (blip_pretrain.py's weights with the diagonal zeroed, drawn by torch.multinomial), so the
/// pairs the contrastive loss finds hardest to tell apart are the ITM head's negatives.
public struct HardNegatives: Sendable, Equatable {
    public let textForImage: [Int]
    public let imageForText: [Int]

    public init(textForImage: [Int], imageForText: [Int]) {
        self.textForImage = textForImage
        self.imageForText = imageForText
    }

    /// Draws from `similarities` [B, B] (image i's row over the texts; texts read columns).
    public static func sample(similarities: Tensor, using generator: inout some RandomNumberGenerator) throws -> HardNegatives {
        guard similarities.rank == 2, similarities.shape[0] == similarities.shape[1], similarities.shape[0] >= 2 else {
            throw GlimpseError.invalidArgument("hard negatives: similarities of shape \(similarities.shape); image–text matching needs a square batch of at least 2 pairs")
        }
        let n = similarities.shape[0], s = similarities.scalars
        func draw(_ row: [Float], excluding i: Int) -> Int {
            let peak = Double(row.max() ?? 0)
            let e = row.map { exp(Double($0) - peak) }
            let sum = e.reduce(0, +)
            var weights = e.map { $0 / sum + 1e-4 }
            weights[i] = 0
            var u = Double(generator.next() >> 11) / Double(1 << 53) * weights.reduce(0, +)
            for (j, w) in weights.enumerated() where w > 0 {
                if u < w { return j }
                u -= w
            }
            return weights.lastIndex { $0 > 0 } ?? (i + 1) % n
        }
        let textForImage = (0 ..< n).map { i in draw(Array(s[i * n ..< (i + 1) * n]), excluding: i) }
        let imageForText = (0 ..< n).map { t in draw((0 ..< n).map { s[$0 * n + t] }, excluding: t) }
        return HardNegatives(textForImage: textForImage, imageForText: imageForText)
    }
}
