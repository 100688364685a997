import Foundation
import GlimpseBase
import GlimpseData

/// One chunk of CapFilt output: `capfilt/K.jsonl` or the WebDataset shard `capfilt/K.tar`,
/// written as records come, and `capfilt/K.stats.json`, the chunk's tally, at `finish`.
/// K is zero-padded to five digits, so shards sort and expand as `{00000..00099}.tar`.
public struct CapFiltChunkWriter: BulkChunkWriter {
    private let file: BulkFile
    private let stats: BulkFile
    private let tar: TarWriter?
    private var tally = CapFiltTally()

    init(chunk: Int, staging: BulkStaging, format: CapFiltJob.Format) throws {
        let name = "capfilt/" + Self.chunkName(chunk)
        file = try staging.create(name + (format == .wds ? ".tar" : ".jsonl"))
        stats = try staging.create(name + ".stats.json")
        if format == .wds {
            let file = self.file
            tar = try TarWriter(name: name + ".tar") { try file.write($0) }
        } else {
            tar = nil
        }
    }

    static func chunkName(_ chunk: Int) -> String {
        let digits = String(chunk)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    public mutating func append(_ record: DatasetRecord, _ output: CapFiltJob.Output) throws {
        tally.add(output.result)
        let object = BulkJSON.object([("key", .string(record.key)), ("source", .string(record.source))]
            + CapFiltJob.fields(record, output.result))
        guard let tar else { return try file.write(object.text + "\n") }
        guard let original = output.original else {
            throw GlimpseError.invalidArgument("\(record.source): the image's bytes were not kept for the WebDataset sample")
        }
        let sample = Self.sampleKey(record.key)
        try tar.add("\(sample).\(Self.imageExtension(original))", bytes: original)
        try tar.add("\(sample).json", bytes: Array((object.text + "\n").utf8))
        try tar.add("\(sample).txt", bytes: Array(output.result.keptTexts.map { $0 + "\n" }.joined().utf8))
    }

    public mutating func finish() throws {
        try tar?.finish()
        try stats.write(tally.outputJSON.text + "\n")
    }

    /// A WebDataset sample key for a record key: its last path part with every character
    /// but letters, digits, `-` and `_` replaced (WebDataset cuts keys at the first dot),
    /// then a 64-bit digest of the whole key, so keys stay unique across inputs and shards.
    static func sampleKey(_ key: String) -> String {
        let tail = key.split(separator: "/").last.map(String.init) ?? key
        let safe = String(tail.unicodeScalars.prefix(80).map { scalar -> Character in
            let v = scalar.value
            let plain = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 45 || v == 95
            return plain ? Character(scalar) : "_"
        })
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return safe + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// "png" for PNG bytes, else "jpg" (the decoders read only these two).
    static func imageExtension(_ bytes: [UInt8]) -> String {
        bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) ? "png" : "jpg"
    }
}

extension CapFiltTally {
    /// What a chunk's stats file holds: the counts of its outputs (records that failed are
    /// counted by the runner, in summary.json's "in" and "failed").
    public var outputJSON: BulkJSON {
        .object([("images", .int(images)), ("web_texts", .int(webTexts)), ("web_kept", .int(webKept)),
                 ("synthetic_captions", .int(syntheticCaptions)), ("synthetic_kept", .int(syntheticKept)),
                 ("images_without_text", .int(imagesWithoutText))])
    }

    /// The counts of a stats file (`outputJSON`); nil when a field is missing.
    public init?(outputJSON object: [String: Any]) {
        func int(_ key: String) -> Int? { (object[key] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
        guard let images = int("images"), let webTexts = int("web_texts"), let webKept = int("web_kept"),
              let synthetic = int("synthetic_captions"), let syntheticKept = int("synthetic_kept"),
              let without = int("images_without_text") else { return nil }
        self.init()
        self.images = images
        self.pairsIn = images
        self.webTexts = webTexts
        self.webKept = webKept
        self.syntheticCaptions = synthetic
        self.syntheticKept = syntheticKept
        self.imagesWithoutText = without
    }

    /// The CapFilt fields of summary.json, over `seconds` of processing.
    public func summaryFields(seconds: Double) -> [(String, BulkJSON)] {
        func rounded(_ x: Double) -> BulkJSON { .double((x * 100).rounded() / 100) }
        return [("pairs_in", .int(pairsIn)), ("images", .int(images)), ("failures", .int(failures)),
                ("web_texts", .int(webTexts)), ("web_kept", .int(webKept)), ("web_kept_percent", rounded(webKeptPercent)),
                ("synthetic_captions", .int(syntheticCaptions)), ("synthetic_kept", .int(syntheticKept)),
                ("synthetic_kept_percent", rounded(syntheticKeptPercent)), ("images_without_text", .int(imagesWithoutText)),
                ("images_per_s", rounded(seconds > 0 ? Double(images) / seconds : 0))]
    }
}
