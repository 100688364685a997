import Foundation
import GlimpseBase
import GlimpseData
import GlimpseImage

/// CapFilt over a dataset, for `BulkRunner`: resumable, in committed chunks, with failed
/// records in errors.jsonl. Chunk K is `capfilt/K.jsonl` (one object per image, see
/// `CapFiltJob.fields`) or, with `.wds`, the WebDataset shard `capfilt/K.tar` (per image
/// `SAMPLE.jpg|png` — the original bytes —, `SAMPLE.json` with the same object and
/// `SAMPLE.txt` with the kept texts, one a line); beside it `capfilt/K.stats.json`, the
/// chunk's `CapFiltTally`, so the summary of a resumed run counts every chunk once.
public struct CapFiltJob: BulkJob {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, wds
    }

    public let capFilt: CapFilt
    public let format: Format
    /// What this process has done so far (a resumed run's earlier chunks are in their stats files).
    public let counter = CapFiltCounter()

    public init(capFilt: CapFilt, format: Format = .jsonl) {
        self.capFilt = capFilt
        self.format = format
    }

    /// Adds the folder's tally to its summary.json (as "capfilt", with images/s over the
    /// job's processing time) and returns it; nil when the job is not complete.
    @discardableResult
    public static func completeSummary(folder: String) throws -> (tally: CapFiltTally, seconds: Double)? {
        guard let tally = try tally(folder: folder) else { return nil }
        let path = (folder as NSString).appendingPathComponent(BulkFolder.summary)
        let data = try InputFile.read(path, what: "bulk summary", limit: Limits.configFileBytes)
        guard var text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              text.hasSuffix("}"), let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GlimpseError.invalidFile(path: path, reason: "is not a JSON object")
        }
        let seconds = (object["elapsed_s"] as? NSNumber)?.doubleValue ?? 0
        if object["capfilt"] == nil {
            text.removeLast()
            text += (object.isEmpty ? "" : ",") + "\"capfilt\":" + BulkJSON.object(tally.summaryFields(seconds: seconds)).text + "}"
            try BulkRunner<CapFiltJob>.writeAtomically(text + "\n", to: path)
        }
        return (tally, seconds)
    }

    /// The tally of a whole output folder: its chunks' stats files, with the runner's record
    /// and failure counts from summary.json. Nil when the folder has no summary yet.
    public static func tally(folder: String) throws -> CapFiltTally? {
        let summaryPath = (folder as NSString).appendingPathComponent(BulkFolder.summary)
        guard FileManager.default.fileExists(atPath: summaryPath) else { return nil }
        let summary = try JSONSerialization.jsonObject(with: InputFile.read(summaryPath, what: "bulk summary", limit: Limits.configFileBytes))
        guard let summary = summary as? [String: Any], let recordsIn = summary["in"] as? Int, let failed = summary["failed"] as? Int else {
            throw GlimpseError.invalidFile(path: summaryPath, reason: "has no \"in\" and \"failed\" counts")
        }
        var tally = CapFiltTally()
        let chunks = (folder as NSString).appendingPathComponent("capfilt")
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: chunks)) ?? []).sorted() where name.hasSuffix(".stats.json") {
            let path = (chunks as NSString).appendingPathComponent(name)
            let object = try JSONSerialization.jsonObject(with: InputFile.read(path, what: "CapFilt chunk stats", limit: Limits.configFileBytes))
            guard let object = object as? [String: Any], let part = CapFiltTally(outputJSON: object) else {
                throw GlimpseError.invalidFile(path: path, reason: "is not a CapFilt chunk stats object")
            }
            tally.merge(part)
        }
        tally.pairsIn = recordsIn
        tally.failures = failed
        return tally
    }

    public var fingerprint: String {
        let o = capFilt.options, s = o.sampling
        return "capfilt captioner=\(capFilt.captioner.checkpoint.folder.standardizedFileURL.path) filter=\(capFilt.filter.checkpoint.folder.standardizedFileURL.path) k=\(o.captionsPerImage) "
            + "prompt=\(o.prompt.map { "\"\($0)\"" } ?? "-") top_p=\(s.topP) top_k=\(s.topK) temperature=\(s.temperature) "
            + "seed=\(s.seed) max_length=\(o.maxLength) min_length=\(o.minLength) repetition_penalty=\(o.repetitionPenalty) "
            + "threshold=\(o.threshold.map { "\($0)" } ?? "argmax") keep=\(o.keep.rawValue) format=\(format.rawValue)"
    }

    public struct Prepared: Sendable {
        let batch: CapFiltBatch
        /// Per record, the image file's bytes as read (WebDataset output only).
        let originals: [[UInt8]?]
    }

    public struct Output: Sendable {
        public let result: CapFiltResult
        /// The image's bytes as they were read, for the WebDataset sample.
        public let original: [UInt8]?
    }

    public func prepare(_ records: [DatasetRecord]) throws -> Prepared {
        guard format == .wds else { return Prepared(batch: try capFilt.prepare(records: records), originals: []) }
        // Read each file once: the bytes are decoded here and copied into the shard later.
        let originals = Originals(count: records.count)
        let batch = try capFilt.prepare(records.enumerated().map { i, record in
            (record.key, record.text, {
                let bytes = try Self.bytes(of: record.image)
                originals.values[i] = bytes
                return try ImageDecoder.decode(data: bytes, name: record.image.name)
            })
        })
        return Prepared(batch: batch, originals: originals.values)
    }

    public func process(_ records: [DatasetRecord], prepared: Prepared) throws -> [Result<Output, DatasetFailure>] {
        let results = CapFilt.failures(try capFilt.process(prepared.batch), records: records)
        counter.add(results)
        return results.enumerated().map { i, result in
            result.map { Output(result: $0, original: prepared.originals.indices.contains(i) ? prepared.originals[i] : nil) }
        }
    }

    public func makeChunkWriter(chunk index: Int, staging: BulkStaging) throws -> CapFiltChunkWriter {
        try CapFiltChunkWriter(chunk: index, staging: staging, format: format)
    }

    public func streamFields(_ record: DatasetRecord, _ output: Output) -> [(String, BulkJSON)] {
        Self.fields(record, output.result)
    }

    /// One image's object after "key" and "source": the image, the web text, the kept texts,
    /// every candidate with its scores, and the input's own fields.
    public static func fields(_ record: DatasetRecord, _ result: CapFiltResult) -> [(String, BulkJSON)] {
        [("image_path", .string(record.image.name)), ("web_text", record.text.map { .string($0) } ?? .null),
         ("kept", .array(result.keptTexts.map { .string($0) })),
         ("candidates", .array(result.candidates.map { candidate in
             .object([("text", .string(candidate.text)), ("source", .string(candidate.source.rawValue)),
                      ("itm", number(candidate.itm)), ("itc", number(candidate.itc)),
                      ("kept", .bool(candidate.kept))])
         })),
         ("metadata", record.metadata.map { .raw($0) } ?? .null)]
    }

    /// A float in its shortest round-trip form, as `glimpse match` prints it.
    static func number(_ value: Float) -> BulkJSON { value.isFinite ? .raw("\(value)") : .null }

    /// A file's bytes (bounded as any image file), or an archive member's.
    static func bytes(of image: DatasetImage) throws -> [UInt8] {
        if let bytes = try image.memberBytes() { return bytes }
        return [UInt8](try InputFile.read(image.name, what: "image", limit: Limits.imageFileBytes))
    }

    /// Filled by the decode closures of one `prepare`, which run one after another.
    private final class Originals: @unchecked Sendable {
        var values: [[UInt8]?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
    }
}

/// A tally shared by the threads of a run (the runner calls `process` on one thread, but a
/// job is a value that may be copied).
public final class CapFiltCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var tally = CapFiltTally()

    public var value: CapFiltTally { lock.withLock { tally } }

    func add(_ results: [Result<CapFiltResult, DatasetFailure>]) {
        lock.withLock {
            for result in results {
                switch result {
                case .success(let output): tally.add(output)
                case .failure: tally.addFailure()
                }
            }
        }
    }
}
