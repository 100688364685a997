import Foundation
import Glimpse

/// The models a server answers with, each behind its own batch queue: concurrent requests for
/// the same model share forward passes, requests for different models run side by side.
/// Any model may be absent; its endpoints then answer 404 with the option that loads it.
public final class ModelService: Sendable {
    public let clip: CLIP?
    public let captioner: BLIPCaptioner?
    public let detector: OwlViT?
    /// Model ids (or folders) as given, for /api/health.
    public let names: [String: String]

    let imageEmbeddings: BatchQueue<RGBImage, [Float]>?
    let textEmbeddings: BatchQueue<String, [Float]>?
    let captions: BatchQueue<RGBImage, [Caption]>?
    let detections: BatchQueue<DetectionRequest, [Detection]>?

    struct DetectionRequest: Sendable {
        var image: RGBImage
        var queries: [String]
        var threshold: Float?
    }

    public init(clip: CLIP?, captioner: BLIPCaptioner?, detector: OwlViT?, names: [String: String] = [:],
                batchSize: Int = 16, capacity: Int = 64) {
        self.clip = clip
        self.captioner = captioner
        self.detector = detector
        self.names = names
        imageEmbeddings = clip.map { clip in
            BatchQueue(name: "image embedding", batchSize: batchSize, capacity: capacity) { images in
                Self.eachOrAlone(images) { try clip.embed(images: $0).rows }
            }
        }
        textEmbeddings = clip.map { clip in
            BatchQueue(name: "text embedding", batchSize: batchSize, capacity: capacity) { texts in
                do { return try clip.embedEach(texts: texts).map { $0.mapError { $0 as any Error } } }
                catch { return texts.map { _ in .failure(error) } }
            }
        }
        captions = captioner.map { blip in
            BatchQueue(name: "captioning", batchSize: batchSize, capacity: capacity) { images in
                Self.eachOrAlone(images) { try blip.caption(images: $0) }
            }
        }
        detections = detector.map { owl in
            BatchQueue(name: "detection", batchSize: batchSize, capacity: capacity) { requests in
                Self.eachOrAlone(requests) { batch in
                    // A model call takes one threshold: requests are grouped by theirs.
                    var found = [[Detection]](repeating: [], count: batch.count)
                    for threshold in Set(batch.map { $0.threshold ?? -1 }) {
                        let members = batch.indices.filter { (batch[$0].threshold ?? -1) == threshold }
                        let queries = try members.map { try owl.textQueries(batch[$0].queries) }
                        let results = try owl.detect(members.map { batch[$0].image }, perImageQueries: queries,
                                                     threshold: threshold < 0 ? nil : threshold)
                        for (member, result) in zip(members, results) { found[member] = result }
                    }
                    return found
                }
            }
        }
    }

    /// Runs the batch; if the batch call fails, runs each input alone so that one bad input
    /// fails only its own request.
    static func eachOrAlone<Input, Output>(_ inputs: [Input], _ run: ([Input]) throws -> [Output]) -> [Result<Output, any Error>] {
        if let outputs = try? run(inputs), outputs.count == inputs.count { return outputs.map { .success($0) } }
        return inputs.map { input in
            Result { () throws -> Output in
                guard let output = try run([input]).first else { throw GlimpseError.invalidArgument("the model returned nothing") }
                return output
            }
        }
    }

    /// Runs one text through the text tower before the first request: the tokenizer's Unicode
    /// and entity tables are built on first use, and the first user should not wait for them.
    public func warmUp() throws {
        if let clip { _ = try clip.embed(texts: ["a photo"]) }
    }

    public func stop() {
        imageEmbeddings?.stop(); textEmbeddings?.stop(); captions?.stop(); detections?.stop()
    }
}

extension Tensor {
    /// The rows of a [n, d] tensor as arrays.
    var rows: [[Float]] {
        let values = scalars, d = shape.last ?? 0
        guard d > 0 else { return [] }
        return (0 ..< values.count / d).map { Array(values[$0 * d ..< ($0 + 1) * d]) }
    }
}
