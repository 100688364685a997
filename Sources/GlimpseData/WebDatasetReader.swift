import Foundation
import GlimpseBase

/// A WebDataset tar shard (`.tar`, `.tar.gz`, `.tgz`: the layout of LAION, CC3M and
/// img2dataset downloads), grouped into samples as the `webdataset` library does: a member's
/// key is its path up to the first `.` of its base name, the rest (lowercased) its extension,
/// and a sample is a run of consecutive members sharing a key. The image is the
/// `jpg|jpeg|png|webp` member, the text the `txt` member or else the `.json` member's caption
/// field. Only those members are read, each within its size bound; others are skipped unread.
/// A broken member ends its sample as a failure; a truncated or corrupt shard ends the shard
/// with one failure (the sample being read is in it), after the samples read before it.
/// With `imagesByReference`, an uncompressed shard's images are not read: each record holds
/// the member's header offset (`.archiveMember`), and `DatasetImage.memberBytes` reads it
/// when needed. A compressed shard cannot be entered in the middle, so its images are read.
public final class WebDatasetReader: IteratorProtocol, Sequence {
    public let path: String
    public let fields: DatasetFields
    /// The largest image member, and the largest `.txt` / `.json` member, read.
    public let imageLimit: Int
    public let textLimit: Int
    public let imagesByReference: Bool
    private var archive: TarArchive?
    private var outputs: [DatasetItem] = []
    private var sample: Sample?
    private var seenKeys: Set<String> = []

    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp"]

    private struct Sample {
        let key: String
        var image: DatasetImage?
        var text: [UInt8]?
        var json: [UInt8]?
        var extensions: Set<String> = []
        var failure: String?
    }

    public init(path: String, fields: DatasetFields = DatasetFields(),
                imageLimit: Int = Limits.imageFileBytes, textLimit: Int = Limits.textFileBytes, imagesByReference: Bool = false) {
        self.path = path
        self.imagesByReference = imagesByReference
        self.fields = fields
        self.imageLimit = imageLimit
        self.textLimit = textLimit
        do {
            archive = try TarArchive(path: path)
        } catch {
            outputs.append(.failure(DatasetFailure(key: path, source: path, reason: "\(error)")))
        }
    }

    public func next() -> DatasetItem? {
        while outputs.isEmpty, let archive {
            step(archive)
        }
        return outputs.isEmpty ? nil : outputs.removeFirst()
    }

    /// A member path split as `webdataset` splits it, or `nil` for names it skips (no `.` in the
    /// base name, a base name starting with `.`, `__meta__`-style names at the top level).
    static func split(_ name: String) -> (key: String, ext: String)? {
        let slash = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
        let base = name[slash...]
        guard let dot = base.firstIndex(of: "."), dot != base.startIndex else { return nil }
        if slash == name.startIndex, name.hasPrefix("__"), name.hasSuffix("__") { return nil }
        return (String(name[..<dot]), String(base[base.index(after: dot)...]).lowercased())
    }

    private func step(_ archive: TarArchive) {
        switch archive.next() {
        case .end:
            flush()
            self.archive = nil
        case .broken(let reason):
            broken(reason)
        case .other:
            break
        case let .member(name, size):
            guard let (key, ext) = Self.split(name) else { return }
            if sample?.key != key {
                flush()
                sample = Sample(key: key)
                if !seenKeys.insert(key).inserted {
                    sample?.failure = "repeats the key of an earlier sample in this shard (its members are not consecutive)"
                }
            }
            guard var current = sample else { return }
            if !current.extensions.insert(ext).inserted {
                current.failure = current.failure ?? "has two members with the extension \"\(ext)\""
            }
            let wanted = (Self.imageExtensions.contains(ext) && current.image == nil)
                || (ext == "txt" && current.text == nil) || (ext == "json" && current.json == nil)
            guard wanted, current.failure == nil else { sample = current; return }
            let isImage = Self.imageExtensions.contains(ext)
            if isImage, imagesByReference, !archive.isCompressed, let offset = archive.headerPosition {
                switch archive.skip(limit: imageLimit, declaredSize: size) {
                case nil:
                    sample = current
                    broken(archive.failureReason)
                    return
                case .failure(let error)?: current.failure = "member \(name) \(error.reason)"
                case .success?: current.image = .archiveMember(shard: path, offset: offset, name: name)
                }
                sample = current
                return
            }
            guard let result = archive.read(limit: isImage ? imageLimit : textLimit, declaredSize: size) else {
                sample = current
                broken(archive.failureReason)
                return
            }
            switch result {
            case .failure(let error):
                current.failure = "member \(name) \(error.reason)"
            case .success(let bytes):
                if isImage { current.image = .memory(name: name, bytes: bytes) }
                else if ext == "txt" { current.text = bytes }
                else { current.json = bytes }
            }
            sample = current
        }
    }

    /// The shard cannot be read further: one failure, naming the sample it was in.
    private func broken(_ reason: String) {
        let key = sample.map { "\(path):\($0.key)" } ?? path
        let lost = sample.map { " (sample \($0.key) is lost with the rest of the shard)" } ?? ""
        outputs.append(.failure(DatasetFailure(key: key, source: path, reason: "is truncated or corrupt: \(reason)\(lost)")))
        sample = nil
        archive?.close()
        archive = nil
    }

    private func flush() {
        guard let sample else { return }
        self.sample = nil
        let key = "\(path):\(sample.key)"
        let source = "\(path) sample \(sample.key)"
        let fail = { (reason: String) in DatasetItem.failure(DatasetFailure(key: key, source: source, reason: reason)) }
        if let failure = sample.failure { return outputs.append(fail(failure)) }
        guard let image = sample.image else { return outputs.append(fail("has no image member (jpg, jpeg, png or webp)")) }
        var caption: String?
        var metadata: String?
        do {
            if let bytes = sample.json {
                let text = try InputFile.decodeText(Data(bytes), path: "\(sample.key).json", what: "JSON member")
                guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
                    return outputs.append(fail("has a .json member that is not valid JSON"))
                }
                guard let dictionary = object as? [String: Any] else {
                    return outputs.append(fail("has a .json member that is a JSON \(JSONValue.kind(of: object)), expected an object"))
                }
                metadata = text
                if sample.text == nil {
                    for field in fields.captionFields {
                        switch JSONValue.string(dictionary, field, what: "caption") {
                        case .failure(let error): return outputs.append(fail(".json member " + error.reason))
                        case .success(let value): caption = value
                        }
                        if caption != nil { break }
                    }
                }
            }
            if let bytes = sample.text {
                caption = try InputFile.decodeText(Data(bytes), path: "\(sample.key).txt", what: "text member")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
        } catch {
            return outputs.append(fail("\(error)"))
        }
        switch fields.caption(caption) {
        case .failure(let error): outputs.append(fail(error.reason))
        case .success(let caption):
            outputs.append(.success(DatasetRecord(key: key, source: source, image: image, text: caption, metadata: metadata)))
        }
    }
}
