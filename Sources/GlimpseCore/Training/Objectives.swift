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
