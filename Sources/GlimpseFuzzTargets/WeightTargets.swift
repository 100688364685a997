import Foundation
import GlimpseCore

/// Checkpoint readers: safetensors (single file and sharded index) and PyTorch zip/pickle.
/// They memory-map files by path, so each input is written to the scratch folder first.
enum WeightTargets {
    static func safetensors(_ input: [UInt8]) throws {
        let folder = try FuzzScratch.folder(.safetensors)
        if input.first == UInt8(ascii: "{") {
            // An index over two fixed, valid shards: the fuzzer varies the weight map.
            for (name, bytes) in shards { try FuzzScratch.write(bytes, name, in: folder) }
            let index = try FuzzScratch.write(input, "model.safetensors.index.json", in: folder)
            try readAll(ShardedSafetensors(indexPath: index.path))
        } else {
            let file = try FuzzScratch.write(input, "model.safetensors", in: folder)
            try readAll(SafetensorsFile(path: file.path))
        }
    }

    static func torch(_ input: [UInt8]) throws {
        if input.first == 0x80 {
            // A bare pickle (PROTO 2–5): the unpickler alone, as it runs on `data.pkl`.
            _ = try input.withUnsafeBytes { try RestrictedUnpickler(bytes: $0, path: "data.pkl").load() }
            return
        }
        let folder = try FuzzScratch.folder(.torch)
        let file = try FuzzScratch.write(input, "pytorch_model.bin", in: folder)
        try readAll(TorchCheckpointFile(path: file.path))
    }

    /// Reads every tensor as fp32 and sums it, so each byte a header points at is touched.
    static func readAll(_ store: WeightStore) throws {
        var sum: Float = 0
        for name in store.names {
            let tensor = try store.tensor(name)
            for i in 0..<tensor.count { sum += tensor.data[i] }
        }
        blackHole(sum)
    }

    /// Two shards holding `a` (F32 [2]) and `b` (F16 [2, 2]), for the index input.
    static let shards: [(String, [UInt8])] = [
        ("model-00001-of-00002.safetensors",
         safetensorsFile(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0x3F, count: 8))),
        ("model-00002-of-00002.safetensors",
         safetensorsFile(#"{"b":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0x3C, count: 8))),
    ]

    static func safetensorsFile(_ header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
    }
}

/// Keeps a computed value alive so the optimiser cannot drop the reads that produced it.
@inline(never)
func blackHole<T>(_ value: T) { _ = value }
