import Foundation
import GlimpseCore

/// One label's score for one image.
public struct LabelScore: Sendable, Equatable {
    public let label: String
    /// Softmax over the label set of the logits.
    public let probability: Float
    /// exp(logit_scale) · cos(image, label embedding), as transformers' logits_per_image.
    public let logit: Float
}

/// Zero-shot classification (CLIP paper §3.1.2): each label becomes a caption through one
/// or more templates; an image's class is the caption most similar to it.
///
/// With several templates, each label's embedding is the mean of its normalised
/// per-template embeddings, normalised again — the paper's prompt ensembling (§3.1.4).
/// Label embeddings are computed once and reused for every image.
public struct ZeroShotClassifier: Sendable {
    public static let defaultTemplate = "a photo of a {}."
    public let labels: [String]
    public let templates: [String]
    /// [labels, projection], L2-normalised.
    public let labelEmbeddings: Tensor
    let logitScale: Float

    public init(clip: CLIP, labels: [String], templates: [String] = [defaultTemplate], truncate: Bool = false) throws {
        guard !labels.isEmpty else { throw GlimpseError.invalidArgument("no labels to classify against") }
        if let blank = labels.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw GlimpseError.invalidArgument("label \(blank + 1) is empty")
        }
        guard !templates.isEmpty else { throw GlimpseError.invalidArgument("no templates") }
        if let bad = templates.first(where: { !$0.contains("{}") }) {
            throw GlimpseError.invalidArgument("template \"\(bad)\" has no {} where the label goes")
        }
        self.labels = labels
        self.templates = templates
        logitScale = clip.model.logitScale
        let dim = clip.model.embeddingDim
        let ensemble = Tensor(zeros: [labels.count, dim])
        for template in templates {
            let captions = labels.map { template.replacingOccurrences(of: "{}", with: $0) }
            let embeddings = try clip.embed(texts: captions, truncate: truncate)
            addInPlace(ensemble, embeddings)
        }
        l2NormalizeInPlace(ensemble)
        labelEmbeddings = ensemble
    }

    /// Scores for each image embedding row of `images` [B, projection] (normalised),
    /// each list sorted by probability, highest first.
    public func classify(imageEmbeddings images: Tensor) -> [[LabelScore]] {
        let logits = matmulTransposed(images, labelEmbeddings)
        scaleInPlace(logits, logitScale)
        let probabilities = logits.copy()
        softmaxInPlace(probabilities)
        let n = labels.count
        return (0..<logits.shape[0]).map { row in
            (0..<n).map { j in
                LabelScore(label: labels[j], probability: probabilities.data[row * n + j], logit: logits.data[row * n + j])
            }.sorted { $0.probability > $1.probability }
        }
    }

    /// Scores for image files, one result per file in input order: a file that cannot be read
    /// or decoded fails on its own and the others are classified.
    public func classifyEach(imageFiles: [String], clip: CLIP) throws -> [InputResult<[LabelScore]>] {
        let dim = labelEmbeddings.shape[1]
        return try clip.embedEach(imageFiles: imageFiles).mapReady { rows in
            classify(imageEmbeddings: Tensor(shape: [rows.count, dim], values: rows.flatMap { $0 }))
        }
    }
}
