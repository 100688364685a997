import Foundation

/// Reader for the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping names to dtype/shape/byte ranges, then raw little-endian data. The file is
/// memory-mapped and every header field is validated before any pointer is formed, so a
/// truncated or corrupt file is an error naming the file (and tensor), never a crash.
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
        // Compared as read: a length of 2^63 or more must be refused, not trap on conversion.
        let declaredLength = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        guard declaredLength >= 2, declaredLength <= UInt64(file.size - 8), declaredLength < 1 << 30 else {
            throw corrupt("header length \(declaredLength) does not fit a file of \(file.size) bytes (truncated?)")
        }
        let headerLength = Int(declaredLength)
        let headerData = Data(bytes: file.base + 8, count: headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw corrupt("header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        var entries: [String: TensorEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = v as? String }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any],
                  let offsetValues = info["data_offsets"] as? [Any], offsetValues.count == 2 else {
                throw corrupt("malformed entry for tensor '\(name)'")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw GlimpseError.unsupported("tensor '\(name)' in \(path) has dtype \(dtypeName)")
            }
            let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetValues.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
                throw corrupt("malformed shape or offsets for tensor '\(name)'")
            }
            let (begin, end) = (offsets[0], offsets[1])
            // Overflow-checked: a shape whose product wraps must be refused, not trap.
            var expected = dtype.byteSize
            for dim in shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw corrupt("tensor '\(name)' has shape \(shape), too large to address") }
                expected = product
            }
            guard begin >= 0, end >= begin, end - begin == expected else {
                throw corrupt("tensor '\(name)' spans bytes \(begin)..<\(end), expected \(expected) bytes for \(dtype.rawValue)\(shape)")
            }
            guard end <= dataSize else {
                throw corrupt("tensor '\(name)' ends at byte \(end) but the file holds \(dataSize) data bytes (truncated?)")
            }
            entries[name] = TensorEntry(dtype: dtype, shape: shape, bytes: file.base + dataStart + begin,
                                        owner: file, file: path)
        }
        self.entries = entries
        self.metadata = metadata
    }
}

/// Several safetensors shards joined by a `*.safetensors.index.json` weight map.
public struct ShardedSafetensors: WeightStore {
    public let entries: [String: TensorEntry]

    public init(indexPath: String) throws {
        let url = URL(fileURLWithPath: indexPath)
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw GlimpseError.fileNotFound(path: indexPath, what: "safetensors index")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let weightMap = json["weight_map"] as? [String: String] else {
            throw GlimpseError.invalidFile(path: indexPath, reason: "not a safetensors index (no \"weight_map\" object)")
        }
        let folder = url.deletingLastPathComponent()
        var shards: [String: SafetensorsFile] = [:]
        var entries: [String: TensorEntry] = [:]
        for (name, shardName) in weightMap {
            guard !shardName.contains("/") else {
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
