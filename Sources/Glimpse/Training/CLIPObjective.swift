import GlimpseCore

extension CLIPModel {
    /// CLIP's training objective on a batch of matching pairs (image i goes with text i): the
    /// symmetric contrastive loss of the projected features with the model's learned
    /// temperature, clamped at ln 100 (`clipContrastiveLoss`). The same forward pass as
    /// inference; run it inside `GradientTape.record` to differentiate it.
    public func contrastiveLoss(pixels: Tensor, ids: [[Int]]) throws -> Tensor {
        guard let logitScaleParameter else {
            throw GlimpseError.unsupported("this CLIP model has no stored logit_scale parameter to train")
        }
        guard pixels.rank == 4, pixels.shape[0] == ids.count else {
            throw GlimpseError.invalidArgument("contrastive loss: \(pixels.rank == 4 ? pixels.shape[0] : 0) images for \(ids.count) texts; a batch holds matching pairs")
        }
        return try clipContrastiveLoss(imageFeatures: try imageFeatures(pixels: pixels),
                                       textFeatures: try textFeatures(ids: ids),
                                       logitScale: logitScaleParameter)
    }
}
