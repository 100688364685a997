import Foundation

/// Reader for the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping names to dtype/shape/byte ranges, then raw little-endian data. The file is
/// memory-mapped and the header is validated as the Rust `safetensors` crate validates it
/// (which Python's `safe_open` uses) before any pointer is formed: a header of at most
/// `Limits.safetensorsHeaderBytes`, typed fields (a dtype string, a shape of non-negative
/// integers, two integer offsets), element counts and byte sizes without overflow, and byte
/// ranges that, sorted, tile the data exactly — from 0, without gaps or overlaps, to the end
/// of the file. A truncated, padded or crafted file is an error naming the file (and
/// tensor), never a crash or a silently different model.
public struct SafetensorsFile: WeightStore {
    public let path: String
    public let entries: [String: TensorEntry]
    public let metadata: [String: String]

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.path = path
        func corrupt(_ reason: String) -> GlimpseError {
            .invalidFile(path: path, reason: "not a valid safetensors file: \(reason)")
        }
        guard file.size >= 8 else { throw corrupt("only \(file.size) bytes") }
        let declared = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Limits.safetensorsHeaderBytes) else {
            throw corrupt("header length \(declared) is more than the \(Limits.safetensorsHeaderBytes) bytes a header may have")
        }
        let headerLength = Int(declared)
        guard headerLength >= 2, headerLength <= file.size - 8 else {
            throw corrupt("header length \(headerLength) does not fit a file of \(file.size) bytes (truncated?)")
        }
        let headerBytes = UnsafeRawBufferPointer(start: file.base + 8, count: headerLength)
        guard headerBytes.first == UInt8(ascii: "{"),
              let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
            throw corrupt("header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart

        var metadata: [String: String] = [:]
        var layout: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let pairs = value as? [String: Any] else { throw corrupt("__metadata__ is not an object of strings") }
                for (key, text) in pairs {
                    guard let text = text as? String else { throw corrupt("__metadata__ value '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            let entry = try Self.parseEntry(name, value, path: path, corrupt: corrupt)
            layout.append((name, entry.dtype, entry.shape, entry.begin, entry.end))
        }

        // Sorted by offset, the byte ranges must follow each other exactly and fill the data.
        layout.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var next = 0
        for tensor in layout {
            guard tensor.begin == next else {
                throw corrupt(tensor.begin < next
                    ? "tensor '\(tensor.name)' starts at byte \(tensor.begin), inside the previous tensor (which ends at \(next)); tensors may not overlap"
                    : "tensor '\(tensor.name)' starts at byte \(tensor.begin), leaving a gap after byte \(next); tensors must be contiguous")
            }
            guard tensor.end <= dataSize else {
                throw corrupt("tensor '\(tensor.name)' ends at byte \(tensor.end) but the file holds \(dataSize) data bytes (truncated?)")
            }
            next = tensor.end
        }
        guard next == dataSize else {
            throw corrupt("the tensors end at data byte \(next) but the file has \(dataSize) data bytes; \(dataSize - next) trailing bytes belong to no tensor")
        }

        var entries: [String: TensorEntry] = [:]
        for tensor in layout {
            entries[tensor.name] = TensorEntry(dtype: tensor.dtype, shape: tensor.shape, bytes: file.base + dataStart + tensor.begin,
                                               owner: file, file: path)
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// One tensor's header entry, typed and sized: `{"dtype": "F32", "shape": [2, 3],
    /// "data_offsets": [begin, end]}` with `end - begin` the dtype size times the elements.
    private static func parseEntry(_ name: String, _ value: Any, path: String, corrupt: (String) -> GlimpseError) throws
        -> (dtype: DType, shape: [Int], begin: Int, end: Int) {
        guard let info = value as? [String: Any] else { throw corrupt("entry for tensor '\(name)' is not an object") }
        guard let dtypeName = info["dtype"] as? String else { throw corrupt("tensor '\(name)' has no dtype string") }
        guard let shapeValues = info["shape"] as? [Any] else { throw corrupt("tensor '\(name)' has no shape array") }
        guard let offsetValues = info["data_offsets"] as? [Any], offsetValues.count == 2 else {
            throw corrupt("tensor '\(name)' has no data_offsets pair")
        }
        func integer(_ value: Any, _ what: String) throws -> Int {
            switch JSONInteger(value) {
            case .integer(let n) where n >= 0: return n
            case .tooLarge: throw corrupt("tensor '\(name)': \(what) \(value) is too large")
            default: throw corrupt("tensor '\(name)': \(what) must be a non-negative integer, found \(value)")
            }
        }
        let shape = try shapeValues.map { try integer($0, "shape entry") }
        let begin = try integer(offsetValues[0], "data offset"), end = try integer(offsetValues[1], "data offset")
        guard let dtype = DType(rawValue: dtypeName) else {
            throw GlimpseError.unsupported("tensor '\(name)' in \(path) has dtype \(dtypeName)")
        }
        guard let elements = Tensor.elementCount(shape, limit: Int.max) else {
            throw corrupt("tensor '\(name)': the element count of shape \(shape) overflows")
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw corrupt("tensor '\(name)': the byte size of \(dtype.rawValue)\(shape) overflows") }
        guard end >= begin, end - begin == bytes else {
            throw corrupt("tensor '\(name)' spans bytes \(begin)..<\(end), expected \(bytes) bytes for \(dtype.rawValue)\(shape)")
        }
        return (dtype, shape, begin, end)
    }
}

/// Several safetensors shards joined by a `*.safetensors.index.json` weight map.
public struct ShardedSafetensors: WeightStore {
    public let entries: [String: TensorEntry]

    public init(indexPath: String) throws {
        let url = URL(fileURLWithPath: indexPath)
        let data = try InputFile.read(indexPath, what: "safetensors index", limit: Limits.configFileBytes)
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let weightMap = json["weight_map"] as? [String: String] else {
            throw GlimpseError.invalidFile(path: indexPath, reason: "not a safetensors index (no \"weight_map\" object)")
        }
        let folder = url.deletingLastPathComponent()
        var shards: [String: SafetensorsFile] = [:]
        var entries: [String: TensorEntry] = [:]
        for (name, shardName) in weightMap {
            guard !shardName.isEmpty, shardName != ".", shardName != "..", !shardName.contains("/"),
                  !shardName.contains("\\"), !shardName.contains("\0") else {
                throw GlimpseError.invalidFile(path: indexPath, reason: "shard name '\(shardName)' is not a plain file name")
            }
            let shard: SafetensorsFile
            if let open = shards[shardName] { shard = open } else {
                shard = try SafetensorsFile(path: folder.appendingPathComponent(shardName).path)
                shards[shardName] = shard
            }
            guard let entry = shard.entries[name] else {
                throw GlimpseError.invalidFile(path: shard.path, reason: "the index lists tensor '\(name)' but the shard does not hold it")
            }
            entries[name] = entry
        }
        self.entries = entries
    }
}
