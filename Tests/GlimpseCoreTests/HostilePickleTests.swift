import Foundation
import XCTest
@testable import GlimpseCore

/// Builds stored (uncompressed) zip archives, as torch.save writes them, byte by byte.
enum ZipWriter {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(v >> ($0 * 8) & 0xFF) } }

    static func archive(_ records: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, data) in records {
            let offset = out.count
            let header = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(data.count) + le32(data.count)
            out += le32(0x0403_4B50) + header + le16(name.utf8.count) + le16(0) + Array(name.utf8) + data
            directory += le32(0x0201_4B50) + le16(20) + header + le16(name.utf8.count) + le16(0) + le16(0)
                + le16(0) + le16(0) + le32(0) + le32(offset) + Array(name.utf8)
        }
        let start = out.count
        out += directory
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(records.count) + le16(records.count)
            + le32(directory.count) + le32(start) + le16(0)
        return out
    }
}

/// Pickle opcodes for the state dicts the tests craft.
enum PickleWriter {
    static func string(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func long(_ v: Int) -> [UInt8] { [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
    static func ints(_ values: [Int]) -> [UInt8] { [0x28] + values.flatMap(long) + [0x74] }

    /// `{"w": _rebuild_tensor_v2(FloatStorage(key "0", numel), offset, size, stride)}`.
    static func stateDict(numel: Int, offset: Int = 0, size: [Int], stride: [Int]) -> [UInt8] {
        let storage = [0x28] + string("storage") + global("torch", "FloatStorage") + string("0") + string("cpu") + long(numel) + [0x74, 0x51]
        let args = [0x28] + storage + long(offset) + ints(size) + ints(stride) + [0x89, 0x74]
        return [0x80, 0x02, 0x7D] + string("w") + global("torch._utils", "_rebuild_tensor_v2") + args + [0x52, 0x73, 0x2E]
    }

    static func checkpoint(_ pickle: [UInt8], storageBytes: Int = 16) -> [UInt8] {
        ZipWriter.archive([("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8)),
                           ("archive/data/0", [UInt8](repeating: 0, count: storageBytes))])
    }
}

/// PyTorch checkpoints built to crash a loader: overflowing sizes, deep nesting, damaged
/// zip directories. Each must be an error naming the file.
final class HostilePickleTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-pt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func assertRefused(_ bytes: [UInt8], _ name: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes, name)
        XCTAssertThrowsError(try TorchCheckpointFile(path: path), name, file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), message, file: file, line: line)
            for fragment in fragments { XCTAssertTrue(message.contains(fragment), "\(message) lacks \(fragment)", file: file, line: line) }
        }
    }

    func testCraftedCheckpointLoads() throws {
        let path = try write(PickleWriter.checkpoint(PickleWriter.stateDict(numel: 4, size: [2, 2], stride: [2, 1])), "good.pt")
        XCTAssertEqual(try TorchCheckpointFile(path: path).tensor("w").shape, [2, 2])
    }

    func testHugeStorageNumelIsAnError() throws {
        for numel in [1 << 62, Int.max, 1 << 40] {
            try assertRefused(PickleWriter.checkpoint(PickleWriter.stateDict(numel: numel, size: [4], stride: [1])),
                              "numel\(numel).pt", ["tensor 'w'", "storage '0'", "16 bytes"])
        }
    }

    func testSizesStridesAndOffsetsThatOverflowAreErrors() throws {
        let cases: [(Int, [Int], [Int], String)] = [
            (0, [0, 2, 1 << 62], [1, 1 << 62, 1], "overflows"),       // empty, but 2 × 2^62 overflows
            (0, [1 << 32, 1 << 32], [1 << 32, 1], "overflows"),
            (0, [2, 2], [Int.max, 1], "overflows"),
            (Int.max, [1], [1], "reaches element"),
            (3, [2], [1], "reaches element"),
            (1 << 62, [0], [1], ""),                                  // empty view far away: harmless, loads
        ]
        for (i, (offset, size, stride, fragment)) in cases.enumerated() {
            let bytes = PickleWriter.checkpoint(PickleWriter.stateDict(numel: 4, offset: offset, size: size, stride: stride))
            if fragment.isEmpty {
                XCTAssertEqual(try TorchCheckpointFile(path: write(bytes, "empty.pt")).tensor("w").count, 0)
            } else {
                try assertRefused(bytes, "view\(i).pt", ["tensor 'w'", fragment])
            }
        }
        // An expanded (stride-0) view far beyond its storage would be copied: refused.
        try assertRefused(PickleWriter.checkpoint(PickleWriter.stateDict(numel: 1, size: [1 << 20, 1 << 20], stride: [0, 0])),
                          "expanded.pt", ["implausible"])
    }

    /// 60,000 nested tuples, lists or dicts in a 60 KB pickle.
    func deep(_ open: [UInt8], _ close: [UInt8], depth: Int = 60_000) -> [UInt8] {
        [0x80, 0x02] + Array([[UInt8]](repeating: open, count: depth).joined()) + [0x4E]
            + Array([[UInt8]](repeating: close, count: depth).joined()) + [0x2E]
    }

    func testDeepNestingIsAnErrorNotAStackOverflow() throws {
        let shapes: [(String, [UInt8], [UInt8])] = [
            ("tuples", [0x28], [0x74]),                    // MARK … TUPLE
            ("tuple1", [], [0x85]),                         // TUPLE1 around the value
            ("lists", [0x28], [0x6C]),                      // MARK … LIST
            ("appends", [0x5D], [0x61]),                    // EMPTY_LIST … APPEND
            ("dicts", [0x7D, 0x4E], [0x73]),                // EMPTY_DICT key … SETITEM
        ]
        for (name, open, close) in shapes {
            let pickle = deep(open, close)
            let message = pickle.withUnsafeBytes { bytes in
                Result { try RestrictedUnpickler(bytes: bytes, path: name).load() }
            }
            guard case .failure(let error) = message else { XCTFail("\(name) loaded"); continue }
            XCTAssertTrue("\(error)".contains("nest"), "\(name): \(error)")
            try assertRefused(PickleWriter.checkpoint(pickle), "\(name).pt", ["nest \(Limits.pickleDepth + 1) deep"])
        }
    }

    func testFreeingDeeplyNestedValuesDoesNotRecurse() {
        // Built directly (past the depth limit), then freed: each level freed by a loop, not a call.
        var value = PickleValue.none
        for level in 0..<300_000 {
            switch level % 3 {
            case 0: value = .tuple(PickleTuple([value, .int(level)]))
            case 1: let list = PickleList(); list.items = [value]; value = .list(list)
            default: let dict = PickleDict(); dict.items = [(.string("k"), value)]; value = .dict(dict)
            }
        }
        var shared: PickleValue? = value  // a second owner: freeing one must leave the other intact
        value = .none
        if case .dict(let top)? = shared, case .list? = top["k"] {} else { XCTFail("shared value damaged") }
        shared = nil
        XCTAssertNil(shared)
        // A nested value that passes through the pickle machine's stack and memo, then is freed.
        var pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for _ in 0..<200 { pickle += [0x85, 0x71, 0x01] }  // TUPLE1, BINPUT 1: 200 levels, within the limit
        pickle += [0x2E]
        XCTAssertNoThrow(try pickle.withUnsafeBytes { try RestrictedUnpickler(bytes: $0, path: "memo").load() })
    }

    func testDamagedZipDirectoriesAreErrors() throws {
        let good = PickleWriter.checkpoint(PickleWriter.stateDict(numel: 4, size: [4], stride: [1]))
        let eocd = good.count - 22
        func patched(_ at: Int, _ bytes: [UInt8]) -> [UInt8] {
            var copy = good
            copy.replaceSubrange(at ..< at + bytes.count, with: bytes)
            return copy
        }
        let directory = Int(good[eocd + 16]) | Int(good[eocd + 17]) << 8
        let cases: [(String, [UInt8], String)] = [
            ("count", patched(eocd + 10, ZipWriter.le16(0xFFFF)), "cannot hold"),
            ("dirsize", patched(eocd + 12, ZipWriter.le32(0x7FFF_FFFF)), "central directory"),
            ("diroffset", patched(eocd + 16, ZipWriter.le32(0xFFFF_FFF0)), "central directory"),
            ("local", patched(directory + 42, ZipWriter.le32(0x7FFF_FFF0)), "local header"),
            ("size", patched(directory + 24, ZipWriter.le32(0xFFFF_FFF0)), "past the end"),
            // Saturated fields with no ZIP64 extra field to resolve them: sizes of 4 GiB, past the file.
            ("zip64", patched(directory + 20, ZipWriter.le32(0xFFFF_FFFF) + ZipWriter.le32(0xFFFF_FFFF)), "past the end"),
        ]
        for (name, bytes, fragment) in cases {
            try assertRefused(bytes, "\(name).pt", [fragment])
        }
        // A ZIP64 locator pointing at a record whose 64-bit fields lie past the file.
        var zip64 = good
        let record = zip64.count - 22
        zip64.insert(contentsOf: ZipWriter.le32(0x0706_4B50) + ZipWriter.le32(0) + ZipWriter.le32(0x7FFF_FFF0) + ZipWriter.le32(0x7FFF_FFFF)
                     + ZipWriter.le32(1), at: record)
        try assertRefused(zip64, "locator.pt", ["ZIP64"])
    }
}
