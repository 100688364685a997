import Foundation

/// A value built by `RestrictedUnpickler`. Containers are reference boxes: lists and dicts
/// because the pickle machine fills them after they are memoised (APPENDS/SETITEMS on a memo
/// entry), and all three so that freeing a deeply nested value never recurses (see
/// `PickleTeardown`).
public enum PickleValue {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global (module, name), callable only through `REDUCE` as handled below.
    case global(String, String)
    /// A storage named by a persistent id: `('storage', StorageType, key, location, numel)`.
    case storage(TorchStorage)
    case tensor(TorchTensor)

    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let m, let n): return "\(m).\(n)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// Containers nested in this value, itself included (0 for a scalar).
    var depth: Int {
        switch self {
        case .tuple(let t): return t.depth
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return 0
        }
    }

    /// The depth of a container holding `items`.
    static func depth(holding items: [PickleValue]) -> Int { 1 + (items.lazy.map(\.depth).max() ?? 0) }
}

public final class PickleTuple {
    public private(set) var items: [PickleValue]
    let depth: Int
    init(_ items: [PickleValue]) { self.items = items; depth = PickleValue.depth(holding: items) }
    deinit { PickleTeardown.release(&items) }
}

public final class PickleList {
    public internal(set) var items: [PickleValue] = []
    var depth = 1
    deinit { PickleTeardown.release(&items) }
}

/// Insertion-ordered, as Python dicts and OrderedDict are.
public final class PickleDict {
    public internal(set) var items: [(key: PickleValue, value: PickleValue)] = []
    var depth = 1
    public subscript(key: String) -> PickleValue? {
        items.last { if case .string(key) = $0.key { return true } else { return false } }?.value
    }
    deinit {
        var flat: [PickleValue] = []
        flat.reserveCapacity(items.count * 2)
        for (key, value) in items { flat.append(key); flat.append(value) }
        items = []
        PickleTeardown.release(&flat)
    }
}

/// Frees nested pickle values without recursion. Freeing a container frees its children,
/// whose deinit would free theirs, one stack frame per level: a 60 KB pickle nesting 60,000
/// tuples would overflow the stack. Instead a container's deinit moves its children onto a
/// per-thread queue; only the outermost deinit drains it, and a child freed while draining
/// just adds its own children, so the depth of the stack stays constant.
enum PickleTeardown {
    final class Queue {
        var pending: [[PickleValue]] = []
        var draining = false
    }
    private static let key = "glimpse.pickle.teardown"

    static func release(_ items: inout [PickleValue]) {
        guard !items.isEmpty else { return }
        let queue: Queue
        if let existing = Thread.current.threadDictionary[key] as? Queue { queue = existing } else {
            queue = Queue()
            Thread.current.threadDictionary[key] = queue
        }
        // Moved, not copied: the children must be owned by the queue alone.
        queue.pending.append([])
        swap(&queue.pending[queue.pending.count - 1], &items)
        guard !queue.draining else { return }
        queue.draining = true
        while var batch = queue.pending.popLast() {
            batch.removeAll()  // frees the children; nested containers enqueue theirs
        }
        queue.draining = false
    }
}

/// One `torch.*Storage` of a zip checkpoint: the bytes of record `data/<key>`.
public struct TorchStorage: Sendable {
    public let key: String
    public let dtype: DType
    public let numel: Int
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage.
public struct TorchTensor: Sendable {
    public let storage: TorchStorage
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}

/// Python's pickle format, protocols 2–5, restricted to what `torch.save` writes for state
/// dicts: containers, scalars, strings, persistent-id storages and the tensor rebuild
/// functions. A pickle names arbitrary Python callables (`GLOBAL os system` + `REDUCE` runs a
/// shell command in Python), so every GLOBAL is checked against an allow-list and REDUCE is
/// evaluated here, for those few callables only, never by name lookup. Everything else is an
/// error naming the file and the offending global or opcode.
public struct RestrictedUnpickler {
    /// Storage classes by name, as torch pickles them (`torch.FloatStorage` etc.).
    static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ByteStorage": .u8, "BoolStorage": .bool,
    ]
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    ]

    let bytes: UnsafeRawBufferPointer
    let path: String

    package init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func fail(_ reason: String, at position: Int) -> GlimpseError {
        .invalidFile(path: path, reason: "pickle byte \(position): \(reason)")
    }

    public func load() throws -> PickleValue {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]
        var pc = 0
        let n = bytes.count

        func take(_ count: Int) throws -> UnsafeRawBufferPointer {
            guard count >= 0, count <= n - pc else { throw fail("needs \(count) more bytes, the pickle ends (truncated?)", at: pc) }
            defer { pc += count }
            return UnsafeRawBufferPointer(rebasing: bytes[pc ..< pc + count])
        }
        func uint(_ width: Int) throws -> Int {
            let b = try take(width)
            var v = 0
            for i in (0..<width).reversed() { v = v << 8 | Int(b[i]) }
            guard v >= 0 else { throw fail("length out of range", at: pc - width) }
            return v
        }
        func pop() throws -> PickleValue {
            guard let v = stack.popLast() else { throw fail("stack underflow", at: pc) }
            return v
        }
        func popMark() throws -> [PickleValue] {
            guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no MARK to pop to", at: pc) }
            defer { stack.removeSubrange(mark...) }
            return Array(stack[mark...])
        }
        func string(_ count: Int) throws -> String { String(decoding: try take(count), as: UTF8.self) }
        /// A container of `depth` (or one grown to it) must stay within `Limits.pickleDepth`.
        func nest(_ depth: Int, at position: Int) throws {
            guard depth <= Limits.pickleDepth else {
                throw fail("containers nest \(depth) deep, more than the \(Limits.pickleDepth) a checkpoint may have", at: position)
            }
        }
        func tuple(_ items: [PickleValue], at position: Int) throws -> PickleValue {
            try nest(PickleValue.depth(holding: items), at: position)
            return .tuple(PickleTuple(items))
        }
        func global(_ module: String, _ name: String, at position: Int) throws -> PickleValue {
            let full = "\(module).\(name)"
            if module == "torch", Self.storageTypes[name] != nil { return .global(module, name) }
            guard Self.callables.contains(full) else {
                throw GlimpseError.invalidFile(path: path, reason: "refusing to load: the pickle references the Python global '\(full)' (byte \(position)), which could run code; only tensors, containers and torch's tensor rebuild functions are allowed")
            }
            return .global(module, name)
        }

        while true {
            let at = pc
            let op = try take(1)[0]
            switch op {
            case 0x80: _ = try take(1)                                  // PROTO
            case 0x95: _ = try take(8)                                  // FRAME
            case 0x2E: guard let top = stack.popLast() else { throw fail("STOP on an empty stack", at: at) }
                return top
            case 0x28: marks.append(stack.count)                        // MARK
            case 0x30: _ = try pop()                                    // POP
            case 0x31: _ = try popMark()                                // POP_MARK
            case 0x32: guard let top = stack.last else { throw fail("DUP on an empty stack", at: at) }
                stack.append(top)
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4B: stack.append(.int(try uint(1)))                  // BININT1
            case 0x4D: stack.append(.int(try uint(2)))                  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x8A, 0x8B:                                            // LONG1, LONG4
                let count = try uint(op == 0x8A ? 1 : 4)
                guard count <= 8 else { throw fail("integer of \(count) bytes is too large", at: at) }
                let b = try take(count)
                var v: UInt64 = 0
                for i in (0..<count).reversed() { v = v << 8 | UInt64(b[i]) }
                if count > 0 && count < 8 && b[count - 1] & 0x80 != 0 { v |= ~0 << (UInt64(count) * 8) }
                stack.append(.int(Int(Int64(bitPattern: v))))
            case 0x47:                                                  // BINFLOAT (big-endian)
                let b = try take(8)
                var v: UInt64 = 0
                for i in 0..<8 { v = v << 8 | UInt64(b[i]) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x58: stack.append(.string(try string(uint(4))))       // BINUNICODE
            case 0x8C: stack.append(.string(try string(uint(1))))       // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try string(uint(8))))       // BINUNICODE8
            case 0x55: stack.append(.string(try string(uint(1))))       // SHORT_BINSTRING
            case 0x54: stack.append(.string(try string(uint(4))))       // BINSTRING
            case 0x43: stack.append(.bytes(Array(try take(uint(1)))))   // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(Array(try take(uint(4)))))   // BINBYTES
            case 0x8E: stack.append(.bytes(Array(try take(uint(8)))))   // BINBYTES8
            case 0x29: stack.append(.tuple(PickleTuple([])))            // EMPTY_TUPLE
            case 0x85, 0x86, 0x87:                                      // TUPLE1-3
                let k = Int(op - 0x84)
                guard stack.count >= k else { throw fail("stack underflow", at: at) }
                let items = Array(stack.suffix(k))
                stack.removeLast(k)
                stack.append(try tuple(items, at: at))
            case 0x74: stack.append(try tuple(popMark(), at: at))       // TUPLE
            case 0x5D: stack.append(.list(PickleList()))                // EMPTY_LIST
            case 0x6C:                                                  // LIST
                let list = PickleList()
                list.items = try popMark()
                list.depth = PickleValue.depth(holding: list.items)
                try nest(list.depth, at: at)
                stack.append(.list(list))
            case 0x7D: stack.append(.dict(PickleDict()))                // EMPTY_DICT
            case 0x64:                                                  // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items", at: at) }
                let dict = PickleDict()
                for i in stride(from: 0, to: items.count, by: 2) { dict.items.append((items[i], items[i + 1])) }
                dict.depth = PickleValue.depth(holding: items)
                try nest(dict.depth, at: at)
                stack.append(.dict(dict))
            case 0x61, 0x65:                                            // APPEND, APPENDS
                let items = op == 0x61 ? [try pop()] : try popMark()
                guard case .list(let list)? = stack.last else { throw fail("APPEND to a \(stack.last?.typeName ?? "nothing")", at: at) }
                list.depth = max(list.depth, PickleValue.depth(holding: items))
                try nest(list.depth, at: at)
                list.items += items
            case 0x73, 0x75:                                            // SETITEM, SETITEMS
                var items: [PickleValue]
                if op == 0x73 { let value = try pop(); items = [try pop(), value] } else { items = try popMark() }
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items", at: at) }
                guard case .dict(let dict)? = stack.last else { throw fail("SETITEM on a \(stack.last?.typeName ?? "nothing")", at: at) }
                dict.depth = max(dict.depth, PickleValue.depth(holding: items))
                try nest(dict.depth, at: at)
                for i in stride(from: 0, to: items.count, by: 2) { dict.items.append((items[i], items[i + 1])) }
            case 0x71, 0x72:                                            // BINPUT, LONG_BINPUT
                let key = try uint(op == 0x71 ? 1 : 4)
                guard let top = stack.last else { throw fail("PUT on an empty stack", at: at) }
                memo[key] = top
            case 0x94:                                                  // MEMOIZE
                guard let top = stack.last else { throw fail("MEMOIZE on an empty stack", at: at) }
                memo[memo.count] = top
            case 0x68, 0x6A:                                            // BINGET, LONG_BINGET
                let key = try uint(op == 0x68 ? 1 : 4)
                guard let value = memo[key] else { throw fail("memo key \(key) is not set", at: at) }
                stack.append(value)
            case 0x63:                                                  // GLOBAL "module\nname\n"
                func line() throws -> String {
                    var end = pc
                    while end < n && bytes[end] != 0x0A { end += 1 }
                    guard end < n else { throw fail("unterminated GLOBAL", at: at) }
                    defer { pc = end + 1 }
                    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pc ..< end]), as: UTF8.self)
                }
                let module = try line(), name = try line()
                stack.append(try global(module, name, at: at))
            case 0x93:                                                  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let m) = module, case .string(let g) = name else { throw fail("STACK_GLOBAL needs two strings", at: at) }
                stack.append(try global(m, g, at: at))
            case 0x51:                                                  // BINPERSID
                stack.append(try persistent(pop(), at: at))
            case 0x52:                                                  // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args, at: at))
            case 0x62:                                                  // BUILD
                let state = try pop()
                // OrderedDict carries `_metadata` (module versions) as instance state; parameters
                // may carry an empty state. Neither matters for inference.
                guard let target = stack.last else { throw fail("BUILD on an empty stack", at: at) }
                switch (target, state) {
                case (.dict, _), (.tensor, .none), (.tensor, .tuple), (.tensor, .dict): break
                default: throw fail("BUILD on a \(target.typeName) is not allowed", at: at)
                }
            default:
                throw fail(String(format: "opcode 0x%02X is not supported in a checkpoint (only the subset torch.save writes is)", op), at: at)
            }
        }
    }

    private func persistent(_ pid: PickleValue, at: Int) throws -> PickleValue {
        guard case .tuple(let box) = pid, case let t = box.items, t.count == 5, case .string("storage") = t[0],
              case .global("torch", let type) = t[1], case .string(let key) = t[2], case .int(let numel) = t[4], numel >= 0 else {
            throw fail("persistent id is not ('storage', torch.<Type>Storage, key, location, numel)", at: at)
        }
        guard let dtype = Self.storageTypes[type] else { throw fail("storage type torch.\(type) is not supported", at: at) }
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw fail("storage key '\(key)' is not a plain record name", at: at)
        }
        return .storage(TorchStorage(key: key, dtype: dtype, numel: numel))
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue, at: Int) throws -> PickleValue {
        guard case .global(let module, let name) = callable, Self.callables.contains("\(module).\(name)") else {
            throw GlimpseError.invalidFile(path: path, reason: "refusing to load: pickle byte \(at) calls \(callable.typeName), which is not an allowed function")
        }
        guard case .tuple(let box) = args, case let a = box.items else { throw fail("REDUCE arguments are a \(args.typeName), not a tuple", at: at) }
        func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
            guard case .tuple(let box) = v, case let items = box.items else { throw fail("\(what) is a \(v.typeName), not a tuple", at: at) }
            return try items.map {
                guard case .int(let i) = $0 else { throw fail("\(what) holds a \($0.typeName)", at: at) }
                return i
            }
        }
        switch name {
        case "OrderedDict":
            let dict = PickleDict()
            if case .list(let pairs)? = a.first {
                for pair in pairs.items {
                    guard case .tuple(let box) = pair, case let kv = box.items, kv.count == 2 else { throw fail("OrderedDict item is not a pair", at: at) }
                    dict.items.append((kv[0], kv[1]))
                }
                dict.depth = PickleValue.depth(holding: dict.items.flatMap { [$0.key, $0.value] })
                guard dict.depth <= Limits.pickleDepth else {
                    throw fail("containers nest \(dict.depth) deep, more than the \(Limits.pickleDepth) a checkpoint may have", at: at)
                }
            } else if !a.isEmpty { throw fail("OrderedDict called with \(a.count) arguments", at: at) }
            return .dict(dict)
        case "_rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let storage) = a[0], case .int(let offset) = a[1] else {
                throw fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)", at: at)
            }
            let shape = try ints(a[2], "tensor size"), strides = try ints(a[3], "tensor stride")
            guard shape.count == strides.count else { throw fail("tensor size \(shape) and stride \(strides) differ in rank", at: at) }
            return .tensor(TorchTensor(storage: storage, offset: offset, shape: shape, strides: strides))
        default:  // _rebuild_parameter(data, requires_grad, hooks[, state]): the data is the tensor
            guard case .tensor? = a.first else { throw fail("\(name) needs a tensor first", at: at) }
            return a[0]
        }
    }
}
