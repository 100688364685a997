import Foundation

/// COCO-style average precision (Lin et al. 2014; the `pycocotools` COCOeval "bbox"
/// protocol), over all objects of every size, at most 100 detections per image and class.
///
/// Per class and IoU threshold t ∈ {0.50, 0.55, …, 0.95}: each image's detections, best
/// score first, are matched greedily to the unmatched ground-truth box of highest IoU ≥ t;
/// then all images' detections are ranked by score, precision is made monotone, and AP is
/// the mean precision at the 101 recall points 0, 0.01, …, 1. A class's AP averages over
/// thresholds; the reported AP averages over the classes that have ground truth
/// (detections of other labels are ignored, as COCOeval does).
public enum DetectionEvaluation {
    public struct ClassResult: Sendable, Equatable {
        public var label: String
        public var ap: Double
        public var ap50: Double
        public var ap75: Double
        public var groundTruth: Int
        public var detections: Int
    }

    public struct Result: Sendable, Equatable {
        /// AP@[.5:.95]; NaN when no class has ground truth.
        public var ap: Double
        public var ap50: Double
        public var ap75: Double
        public var classes: [ClassResult]
    }

    public static let iouThresholds: [Double] = (0..<10).map { 0.5 + Double($0) * (0.95 - 0.5) / 9 }
    public static let maxDetections = 100

    /// `detections[i]` belong to `groundTruth[i]`'s image; labels are matched by string.
    public static func evaluate(groundTruth: [GroundTruthImage], detections: [[Detection]]) -> Result {
        precondition(groundTruth.count == detections.count, "one detection list per ground-truth image")
        let labels = Array(Set(groundTruth.flatMap { $0.objects.map(\.label) })).sorted()
        let classes = labels.map { label -> ClassResult in
            let perThreshold = iouThresholds.map { t in
                averagePrecision(label: label, threshold: t, groundTruth: groundTruth, detections: detections)
            }
            return ClassResult(label: label, ap: perThreshold.reduce(0, +) / Double(perThreshold.count),
                               ap50: perThreshold[0], ap75: perThreshold[5],
                               groundTruth: groundTruth.reduce(0) { $0 + $1.objects.filter { $0.label == label }.count },
                               detections: detections.reduce(0) { $0 + $1.filter { $0.label == label }.count })
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        return Result(ap: mean(classes.map(\.ap)), ap50: mean(classes.map(\.ap50)), ap75: mean(classes.map(\.ap75)), classes: classes)
    }

    static func averagePrecision(label: String, threshold t: Double, groundTruth: [GroundTruthImage], detections: [[Detection]]) -> Double {
        var ranked: [(score: Float, truePositive: Bool)] = []
        var positives = 0
        for (truth, found) in zip(groundTruth, detections) {
            let boxes = truth.objects.filter { $0.label == label }.map(\.box)
            positives += boxes.count
            let candidates = found.enumerated().filter { $0.element.label == label }
                .sorted { $0.element.score > $1.element.score || ($0.element.score == $1.element.score && $0.offset < $1.offset) }
                .prefix(maxDetections).map(\.element)
            var matched = [Bool](repeating: false, count: boxes.count)
            for d in candidates {
                var best = -1, bestIoU = min(t, 1 - 1e-10)
                for (g, box) in boxes.enumerated() where !matched[g] {
                    let iou = iouDouble(d.box, box)
                    if iou < bestIoU || iou.isNaN { continue }
                    (best, bestIoU) = (g, iou)
                }
                if best >= 0 { matched[best] = true }
                ranked.append((d.score, best >= 0))
            }
        }
        guard positives > 0 else { return .nan }
        // Stable sort by score, image order kept among equal scores (numpy's mergesort).
        let order = ranked.indices.sorted { ranked[$0].score > ranked[$1].score || (ranked[$0].score == ranked[$1].score && $0 < $1) }
        var recall: [Double] = [], precision: [Double] = []
        var tp = 0.0, fp = 0.0
        for i in order {
            if ranked[i].truePositive { tp += 1 } else { fp += 1 }
            recall.append(tp / Double(positives))
            precision.append(tp / (tp + fp + Double.ulpOfOne))
        }
        for i in stride(from: precision.count - 1, to: 0, by: -1) where precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i]
        }
        var sum = 0.0
        for r in 0...100 {
            let point = Double(r) * 0.01  // numpy.linspace(0, 1, 101)
            if let k = recall.firstIndex(where: { $0 >= point }) { sum += precision[k] }
        }
        return sum / 101
    }

    /// IoU in double precision, as pycocotools computes it.
    static func iouDouble(_ a: BoundingBox, _ b: BoundingBox) -> Double {
        let w = max(min(Double(a.x2), Double(b.x2)) - max(Double(a.x1), Double(b.x1)), 0)
        let h = max(min(Double(a.y2), Double(b.y2)) - max(Double(a.y1), Double(b.y1)), 0)
        let inter = w * h
        let union = Double(a.width) * Double(a.height) + Double(b.width) * Double(b.height) - inter
        return inter / union
    }
}
