import Foundation

/// Writer for the safetensors format `SafetensorsFile` reads (and Python's `safe_open`): an
/// 8-byte little-endian header length, a JSON header of name → dtype, shape and byte range
/// (names sorted, ranges laid out in that order, padded with spaces to a multiple of 8 as the
/// Rust crate pads it), then the raw little-endian bytes. Written atomically: to a temporary
/// file in the destination's folder, then renamed, so a crash never leaves half a checkpoint.
public struct SafetensorsWriter {
    /// One tensor to write: its bytes are copied when the file is written.
    public struct Item {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// An fp32 tensor's values.
        public init(name: String, tensor: Tensor) {
            let bytes = tensor.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
            self.init(name: name, dtype: .f32, shape: tensor.shape, bytes: bytes)
        }

        /// A stored entry's bytes as they are (integer buffers, already-fp32 weights).
        public init(name: String, entry: TensorEntry) throws {
            let (count, overflow) = entry.shape.reduce((1, false)) { partial, d in
                let (p, o) = partial.0.multipliedReportingOverflow(by: d); return (p, partial.1 || o || d < 0)
            }
            let (size, overflow2) = count.multipliedReportingOverflow(by: entry.dtype.byteSize)
            guard !overflow, !overflow2 else {
                throw GlimpseError.invalidArgument("safetensors writer: tensor '\(name)' of shape \(entry.shape) has too many elements")
            }
            self.init(name: name, dtype: entry.dtype, shape: entry.shape,
                      bytes: Array(UnsafeRawBufferPointer(start: entry.bytes, count: size)))
        }
    }

    public var items: [Item]
    public var metadata: [String: String]

    public init(items: [Item], metadata: [String: String] = [:]) {
        self.items = items
        self.metadata = metadata
    }

    /// The whole file's bytes.
    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let sorted = items.sorted { $0.name < $1.name }
        for (index, item) in sorted.enumerated() {
            guard index == 0 || sorted[index - 1].name != item.name, item.name != "__metadata__" else {
                throw GlimpseError.invalidArgument("safetensors writer: tensor name '\(item.name)' is repeated or reserved")
            }
            let expected = item.shape.reduce(item.dtype.byteSize) { $0.multipliedReportingOverflow(by: max($1, 0)).partialValue }
            guard item.shape.allSatisfy({ $0 >= 0 }), expected == item.bytes.count else {
                throw GlimpseError.invalidArgument("safetensors writer: tensor '\(item.name)' of shape \(item.shape) and dtype \(item.dtype.rawValue) has \(item.bytes.count) bytes; expected \(expected)")
            }
            header[item.name] = ["dtype": item.dtype.rawValue, "shape": item.shape, "data_offsets": [offset, offset + item.bytes.count]]
            offset += item.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for item in sorted { data.append(contentsOf: item.bytes) }
        return data
    }

    /// Writes the file at `path` atomically.
    public func write(to path: String) throws {
        let data = try serialized()
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw GlimpseError.invalidArgument("could not write \(path): \(error.localizedDescription)")
        }
    }
}
