#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A PyTorch checkpoint (`pytorch_model.bin`, `.pt`, `.pth`) as `torch.save` writes it since
/// torch 1.6: a zip archive `<name>/data.pkl` (the pickled object), `<name>/data/<key>` (one
/// record per storage), `<name>/byteorder` and `<name>/version` — read without Python.
///
/// The pickle is interpreted by `RestrictedUnpickler`, so a checkpoint cannot run code. The
/// state dict is the top-level dict, or the dict under `state_dict`, `model` or `module` when
/// the top level is a training checkpoint; its tensor values become entries. Tensors that are
/// contiguous views of their storage (the usual case, including several tensors sharing one
/// storage at different offsets) point into the memory map; non-contiguous views are gathered
/// into a contiguous copy once, here.
public struct TorchCheckpointFile: WeightStore {
    public let path: String
    public let entries: [String: TensorEntry]

    /// Keys under which training scripts nest the state dict.
    static let nestedKeys = ["state_dict", "model", "module", "model_state_dict"]

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.path = path
        guard ZipArchive.isZip(file) else {
            if file.size >= 2, file.base.load(as: UInt8.self) == 0x80 {
                throw GlimpseError.unsupported("\(path) is a PyTorch checkpoint in the unsupported legacy format (torch < 1.6, or _use_new_zipfile_serialization=False); re-save it with torch.save from torch ≥ 1.6, or convert it to safetensors")
            }
            throw GlimpseError.invalidFile(path: path, reason: "not a PyTorch checkpoint (no zip signature)")
        }
        let archive = try ZipArchive(file)
        let pickles = archive.entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let pickleName = pickles.first else {
            throw GlimpseError.invalidFile(path: path, reason: "zip archive without exactly one '<name>/data.pkl' record; not a torch.save checkpoint")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if archive.entries[prefix + "byteorder"] != nil {
            let order = String(decoding: try archive.bytes(prefix + "byteorder"), as: UTF8.self)
            guard order == "little" else { throw GlimpseError.unsupported("\(path) was saved on a \(order)-endian machine") }
        }
        let root = try RestrictedUnpickler(bytes: archive.bytes(pickleName), path: path).load()
        let state = try Self.stateDict(root, path: path)

        var entries: [String: TensorEntry] = [:]
        for (key, value) in state.items {
            guard case .string(let name) = key, case .tensor(let tensor) = value else { continue }
            entries[name] = try Self.entry(name, tensor, archive: archive, prefix: prefix, path: path)
        }
        guard !entries.isEmpty else { throw GlimpseError.invalidFile(path: path, reason: "the checkpoint holds no tensors") }
        self.entries = entries
    }

    static func stateDict(_ root: PickleValue, path: String) throws -> PickleDict {
        guard case .dict(let dict) = root else {
            throw GlimpseError.invalidFile(path: path, reason: "the pickled object is a \(root.typeName), not a state dict")
        }
        let holdsTensors = dict.items.contains { if case .tensor = $0.value { return true } else { return false } }
        if !holdsTensors {
            for key in nestedKeys {
                if case .dict(let nested)? = dict[key] { return nested }
            }
        }
        return dict
    }

    static func entry(_ name: String, _ t: TorchTensor, archive: ZipArchive, prefix: String, path: String) throws -> TensorEntry {
        func bad(_ reason: String) -> GlimpseError { .invalidFile(path: path, reason: "tensor '\(name)': \(reason)") }
        let record = prefix + "data/" + t.storage.key
        guard archive.entries[record] != nil else { throw bad("its storage record '\(record)' is missing") }
        let storage = try archive.bytes(record)
        let size = t.storage.dtype.byteSize
        let numel = t.storage.numel
        let (storageBytes, overflow) = numel.multipliedReportingOverflow(by: size)
        guard !overflow, storage.count >= storageBytes else {
            let needed = overflow ? "more than \(Int.max)" : "\(storageBytes)"
            throw bad("storage '\(t.storage.key)' holds \(storage.count) bytes, but \(numel) \(t.storage.dtype.rawValue) elements need \(needed)")
        }
        guard t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }), t.offset >= 0 else {
            throw bad("negative size, stride or offset")
        }
        // Counted with zero dimensions as one, so that no product over the shape can overflow.
        guard let count = Tensor.elementCount(t.shape, limit: Int.max) else { throw bad("size \(t.shape) overflows") }
        guard count > 0 else {
            return TensorEntry(dtype: t.storage.dtype, shape: t.shape, bytes: archive.file.base, owner: archive.file, file: path)
        }
        // The last element the view reaches must lie in the storage: offset + Σ (dim − 1) × stride.
        var last = t.offset
        for (dim, stride) in zip(t.shape, t.strides) {
            let (step, o1) = (dim - 1).multipliedReportingOverflow(by: stride)
            let (l, o2) = last.addingReportingOverflow(step)
            guard !o1, !o2 else { throw bad("view (offset \(t.offset), size \(t.shape), stride \(t.strides)) overflows") }
            last = l
        }
        guard last < numel, let base = storage.baseAddress else {
            throw bad("view (offset \(t.offset), size \(t.shape), stride \(t.strides)) reaches element \(last) of a storage of \(numel)")
        }
        if isContiguous(t) {
            return TensorEntry(dtype: t.storage.dtype, shape: t.shape, bytes: base + t.offset * size, owner: archive.file, file: path)
        }
        // Expanded (stride-0) views may legitimately hold more elements than their storage,
        // but not without bound: the copy is what a malicious size would exhaust memory with.
        let (plausible, o3) = max(numel, 1).multipliedReportingOverflow(by: 4096)
        guard count <= Limits.tensorElements, o3 || count <= plausible else {
            throw bad("a strided view of \(count) elements over a storage of \(numel) is implausible")
        }
        guard let copy = ContiguousCopy(byteCount: count * size) else {
            throw bad("out of memory for a copy of \(count) elements")
        }
        var index = [Int](repeating: 0, count: t.shape.count)
        for i in 0..<count {
            var element = t.offset
            for d in index.indices { element += index[d] * t.strides[d] }
            (copy.bytes + i * size).copyMemory(from: base + element * size, byteCount: size)
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < t.shape[d] { break }
                index[d] = 0; d -= 1
            }
        }
        return TensorEntry(dtype: t.storage.dtype, shape: t.shape, bytes: UnsafeRawPointer(copy.bytes), owner: copy, file: path)
    }

    /// Row-major strides, ignoring dimensions of size 1 (whose stride is arbitrary).
    static func isContiguous(_ t: TorchTensor) -> Bool {
        var expected = 1
        for (dim, stride) in zip(t.shape, t.strides).reversed() where dim != 1 {
            if stride != expected { return false }
            expected *= dim
        }
        return true
    }
}

/// Owned bytes of a materialised non-contiguous tensor.
final class ContiguousCopy: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    /// Nil when the system has no memory for it (a size from a file must not trap).
    init?(byteCount: Int) {
        var raw: UnsafeMutableRawPointer?
        guard byteCount <= Int.max - 63, posix_memalign(&raw, 64, max(byteCount, 1)) == 0, let raw else { return nil }
        bytes = raw
    }
    deinit { free(bytes) }
}
