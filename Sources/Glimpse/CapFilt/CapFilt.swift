import Foundation
import GlimpseCore
import GlimpseData
import GlimpseImage

/// BLIP's CapFilt (Captioning and Filtering, BLIP §3.3) as a data tool: for each web image
/// the captioner (image-grounded decoder) writes K synthetic captions by nucleus sampling,
/// and the filter (image-grounded encoder with its ITM head) judges the web text and every
/// synthetic caption against the image; the texts it judges as matching are kept.
///
/// Both models are loaded once. Work is split so decoding can overlap the models:
/// `prepare` (no model: decode, preprocess, tokenize the web texts) and `process` (each
/// vision tower once over the batch, all images × K captions sampled together, all
/// candidates scored in one ITM and one ITC pass). Each caption draws from its own
/// generator seeded by (seed, digest of the image–text pair, caption index), so results do
/// not depend on the batch size, on how a dataset is sharded, or on the record's key (which
/// differs between a manifest and the same lines streamed through standard input).
public final class CapFilt: Sendable {
    public let captioner: BLIPCaptioner
    public let filter: BLIPMatcher
    public let options: CapFiltOptions
    private let promptIds: [Int]

    public init(captioner: BLIPCaptioner, filter: BLIPMatcher, options: CapFiltOptions = CapFiltOptions()) throws {
        try options.validate()
        self.captioner = captioner
        self.filter = filter
        self.options = options
        promptIds = try captioner.promptIds(options.prompt)
    }

    /// Opens both models, each a folder or a Hub id.
    public convenience init(captioner: String, filter: String, options: CapFiltOptions = CapFiltOptions(),
                            environment: HubEnvironment = HubEnvironment(), progress: DownloadProgressHandler? = nil) throws {
        try options.validate()
        try self.init(captioner: BLIPCaptioner(model: captioner, environment: environment, progress: progress),
                      filter: BLIPMatcher(model: filter, environment: environment, progress: progress), options: options)
    }

    /// Captions and filters decoded images, one result per input in input order. An input
    /// whose web text is empty or too long for the filter fails on its own.
    public func run(_ inputs: [CapFiltInput]) throws -> [InputResult<CapFiltResult>] {
        try process(prepare(inputs.map { input in (input.key, input.webText, { input.image }) }))
    }

    /// Decodes records' images and runs them; a record whose image cannot be read or decoded,
    /// or whose text fails, becomes a `DatasetFailure` with its key.
    public func run(records: [DatasetRecord]) throws -> [Result<CapFiltResult, DatasetFailure>] {
        Self.failures(try process(prepare(records: records)), records: records)
    }

    /// The model-free part of a batch of records (decoding, preprocessing, tokenizing), safe
    /// to run on another thread while `process` runs the previous batch.
    public func prepare(records: [DatasetRecord]) throws -> CapFiltBatch {
        try prepare(records.map { record in (record.key, record.text, { try ImagePrefetcher.decode(record.image) }) })
    }

    /// `InputResult`s of a batch as `DatasetFailure`s naming the records.
    public static func failures(_ results: [InputResult<CapFiltResult>], records: [DatasetRecord]) -> [Result<CapFiltResult, DatasetFailure>] {
        zip(records, results).map { record, result in
            result.mapError { DatasetFailure(key: record.key, source: record.source, reason: $0.description) }
        }
    }

    typealias Source = (key: String, webText: String?, image: () throws -> RGBImage)

    /// Web texts first (an empty one fails before its image is decoded), then the images,
    /// each decoded and preprocessed before the next one is decoded.
    func prepare(_ sources: [Source]) throws -> CapFiltBatch {
        let texts: [InputResult<[Int]?>] = sources.map { source in
            attempt {
                guard let text = source.webText else { return nil }
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw GlimpseError.invalidArgument("the web text is empty")
                }
                return try filter.tokenize(text)
            }
        }
        let pending = sources.indices.filter { if case .success = texts[$0] { return true } else { return false } }
        let captionSize = captioner.model.config.vision.imageSize, filterSize = filter.model.config.vision.imageSize
        var digests = [UInt64](repeating: 0, count: sources.count)
        let decodeAt = { (index: String) throws -> RGBImage in
            guard let i = Int(index), sources.indices.contains(i) else { throw GlimpseError.invalidArgument("no input \(index)") }
            let image = try sources[i].image()
            digests[i] = CapFiltOptions.pairDigest(image: image, webText: sources[i].webText)
            return image
        }
        // The same preprocessing feeds both towers when the two folders agree (BLIP's do);
        // otherwise the batch's images stay decoded for the second preprocessing.
        let captionPixels: PixelBatch, filterPixels: Tensor
        if captioner.preprocessor.config == filter.preprocessor.config && captionSize == filterSize {
            captionPixels = try PixelBatch(files: pending.map(String.init), preprocessor: captioner.preprocessor, size: captionSize,
                                           decode: decodeAt)
            filterPixels = captionPixels.pixels
        } else {
            let decoded = pending.map { i in attempt { try decodeAt(String(i)) } }
            var ready: [RGBImage] = []
            for case .success(let image) in decoded { ready.append(image) }
            var images = ready.makeIterator()
            captionPixels = try PixelBatch(files: pending.map(String.init), preprocessor: captioner.preprocessor, size: captionSize) {
                guard let i = Int($0), let slot = pending.firstIndex(of: i) else { throw GlimpseError.invalidArgument("no input \($0)") }
                if case .failure(let error) = decoded[slot] { throw error }
                guard let image = images.next() else { throw GlimpseError.invalidArgument("no image for input \($0)") }
                return image
            }
            filterPixels = ready.isEmpty ? captionPixels.pixels
                : try PixelBatch(images: ready, preprocessor: filter.preprocessor, size: filterSize).pixels
        }
        var outcomes = texts.map { $0.map { _ in 0 } }
        var rows: [CapFiltBatch.Row] = []
        for (i, image) in zip(pending, captionPixels.inputs) {
            switch image {
            case .failure(let error): outcomes[i] = .failure(error)
            case .success:
                guard case .success(let ids) = texts[i] else { continue }  // pending inputs' texts all passed
                outcomes[i] = .success(rows.count)
                rows.append(CapFiltBatch.Row(key: sources[i].key, webText: sources[i].webText, webIds: ids, digest: digests[i]))
            }
        }
        return CapFiltBatch(outcomes: outcomes, rows: rows, captionPixels: captionPixels.pixels, filterPixels: filterPixels)
    }

    /// Runs both models on a prepared batch: one result per input, in input order.
    public func process(_ batch: CapFiltBatch) throws -> [InputResult<CapFiltResult>] {
        let results = batch.rows.isEmpty ? [] : try score(batch)
        return batch.outcomes.map { $0.map { results[$0] } }
    }

    private func score(_ batch: CapFiltBatch) throws -> [CapFiltResult] {
        let synthetic = try captions(pixels: batch.captionPixels, digests: batch.rows.map(\.digest))
        var texts: [(text: String, source: CapFiltCandidate.Source, ids: [Int], image: Int)] = []
        for (i, row) in batch.rows.enumerated() {
            if let text = row.webText, let ids = row.webIds { texts.append((text, .web, ids, i)) }
            for text in synthetic[i] where !text.isEmpty {
                let ids = try filter.tokenizer.encode(text, maxLength: filter.model.config.text.bert.maxPositions, truncate: true)
                texts.append((text, .synthetic, ids, i))
            }
        }
        var perImage = [[CapFiltCandidate]](repeating: [], count: batch.rows.count)
        if !texts.isEmpty {
            let model = filter.model, images = batch.rows.count
            let states = try model.vision(batch.filterPixels)
            // The same products as `BLIPMatcher.match`: cosines of every image with every text,
            // ITM logits of each text with its own image.
            let cosines = matmulTransposed(model.imageEmbeddings(imageStates: states, images: images),
                                           try model.textEmbeddings(ids: texts.map(\.ids))).scalars
            let logits = try model.itmLogits(imageStates: states, images: images, ids: texts.map(\.ids), imageOf: texts.map(\.image))
            let raw = logits.scalars
            softmaxInPlace(logits)
            let probabilities = logits.scalars
            for (c, text) in texts.enumerated() {
                let probability = probabilities[c * 2 + 1]
                let kept = options.keeps(text.source, itmLogits: (raw[c * 2], raw[c * 2 + 1]), probability: probability)
                perImage[text.image].append(CapFiltCandidate(text: text.text, source: text.source, itm: probability,
                                                             itc: cosines[text.image * texts.count + c], kept: kept))
            }
        }
        return zip(batch.rows, perImage).map { CapFiltResult(key: $0.key, candidates: $1) }
    }

    /// K synthetic captions per image, the prompt removed (as BLIP does before filtering).
    private func captions(pixels: Tensor, digests: [UInt64]) throws -> [[String]] {
        let k = options.captionsPerImage
        guard k > 0 else { return digests.map { _ in [] } }
        let seeds = digests.map { pair in (0 ..< k).map { options.captionSeed(pair: pair, index: $0) } }
        let sequences = try captioner.model.generate(pixels: pixels, promptIds: promptIds, options: options.generationOptions, seeds: seeds)
        return sequences.map { list in list.map { captioner.text(of: $0.newIds) } }
    }
}

/// A batch made ready for `CapFilt.process`: pixels for both vision towers and the web
/// texts' ids of the inputs that could be read, and the failures of those that could not.
public struct CapFiltBatch: Sendable {
    /// Per input in order: its row among the ready inputs, or why it failed.
    let outcomes: [InputResult<Int>]
    struct Row: Sendable {
        let key: String
        let webText: String?
        let webIds: [Int]?
        /// `CapFiltOptions.pairDigest`: what the captions are seeded by.
        let digest: UInt64
    }

    let rows: [Row]
    let captionPixels: Tensor
    let filterPixels: Tensor

    /// Inputs that are ready for the models.
    public var readyCount: Int { rows.count }
}
