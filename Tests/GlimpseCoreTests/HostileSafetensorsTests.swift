import Foundation
import XCTest
@testable import GlimpseCore

/// Safetensors files that the Rust `safetensors` crate (and so Python's `safe_open`) rejects
/// must be rejected here too, with an error naming the file, never a trap or a silently
/// different model.
final class HostileSafetensorsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A file with `header` verbatim (padded to 8 bytes) followed by `data`.
    func file(header: String, data: [UInt8]) -> [UInt8] {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
    }

    func assertRefused(_ bytes: [UInt8], _ name: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes, name)
        XCTAssertThrowsError(try SafetensorsFile(path: path), name, file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), message, file: file, line: line)
            for fragment in fragments { XCTAssertTrue(message.contains(fragment), "\(message) lacks \(fragment)", file: file, line: line) }
        }
    }

    func testHeaderLengthNearTwoToThe64IsAnError() throws {
        for (i, length) in [UInt64.max, UInt64(1) << 63, UInt64(Int.max), UInt64(Limits.safetensorsHeaderBytes) + 1].enumerated() {
            let bytes = withUnsafeBytes(of: length.littleEndian, Array.init) + Array("{}      ".utf8)
            try assertRefused(bytes, "length\(i).safetensors", ["header length"])
        }
    }

    func testHeaderFieldsAreTyped() throws {
        let four = [UInt8](repeating: 0, count: 4)
        let cases: [(String, String)] = [
            (#"{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,4]}}"#, "shape entry"),
            (#"{"w":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}}"#, "shape entry"),
            (#"{"w":{"dtype":"U8","shape":["4"],"data_offsets":[0,4]}}"#, "shape entry"),
            (#"{"w":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}}"#, "shape entry"),
            (#"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0.0,4.0]}}"#, "data offset"),
            (#"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}}"#, "data_offsets"),
            (#"{"w":{"dtype":"U8","shape":4,"data_offsets":[0,4]}}"#, "shape"),
            (#"{"w":{"dtype":8,"shape":[4],"data_offsets":[0,4]}}"#, "dtype"),
            (#"{"w":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,4]}}"#, "shape entry"),
            (#"{"__metadata__":{"format":1},"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, "__metadata__"),
            (#"{"__metadata__":"pt","w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, "__metadata__"),
            (#"["w"]"#, "JSON object"),
            (#" {"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, "JSON object"),
        ]
        for (i, (header, fragment)) in cases.enumerated() {
            try assertRefused(file(header: header, data: four), "typed\(i).safetensors", [fragment])
        }
    }

    func testShapeProductsThatOverflowAreErrors() throws {
        // 4611686018427387908 × 4 = 2^64 + 16: wraps to 16 in unchecked 64-bit arithmetic.
        let wrapped = file(header: #"{"w":{"dtype":"U8","shape":[4611686018427387908,4],"data_offsets":[0,16]}}"#,
                           data: [UInt8](repeating: 0, count: 16))
        try assertRefused(wrapped, "wrap.safetensors", ["'w'", "overflows"])
        let bytesOverflow = file(header: #"{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,16]}}"#,
                                 data: [UInt8](repeating: 0, count: 16))
        try assertRefused(bytesOverflow, "bytes.safetensors", ["'w'", "overflows"])
        // A zero dimension makes the count 0, but the other dimensions must still not overflow.
        let zero = file(header: #"{"w":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}"#, data: [])
        try assertRefused(zero, "zero.safetensors", ["'w'", "overflows"])
    }

    func testTensorsMustTileTheDataExactly() throws {
        let floats = SafetensorsWriter.floats([1, 2, 3, 4])
        let overlap = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                           data: Array(floats.prefix(12)))
        try assertRefused(overlap, "overlap.safetensors", ["overlap"])
        let same = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                        data: Array(floats.prefix(8)))
        try assertRefused(same, "same.safetensors", ["overlap"])
        let gap = file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                       data: Array(floats.prefix(12)))
        try assertRefused(gap, "gap.safetensors", ["gap"])
        let late = file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Array(floats.prefix(8)))
        try assertRefused(late, "late.safetensors", ["gap"])
        let trailing = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floats)
        try assertRefused(trailing, "trailing.safetensors", ["8 trailing bytes"])
        let truncated = file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: Array(floats.prefix(12)))
        try assertRefused(truncated, "truncated.safetensors", ["'a'", "truncated"])
        // Out of order in the header is fine, as in the reference: only the sorted layout counts.
        let unordered = try write(file(header: #"{"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                       data: floats), "unordered.safetensors")
        XCTAssertEqual(try SafetensorsFile(path: unordered).tensor("b").scalars, [3, 4])
        let empty = try write(file(header: #"{"__metadata__":{"format":"pt"}}"#, data: []), "empty.safetensors")
        XCTAssertEqual(try SafetensorsFile(path: empty).metadata, ["format": "pt"])
    }

    func testShardNamesArePlainFileNames() throws {
        _ = try write(SafetensorsWriter.file([("a", "F32", [1], SafetensorsWriter.floats([7]))]), "s1.safetensors")
        for (i, shard) in ["..", "", ".", "sub/s1.safetensors", "..\\\\s1.safetensors"].enumerated() {
            let index = try write(Array(#"{"weight_map":{"a":"\#(shard)"}}"#.utf8), "index\(i).json")
            XCTAssertThrowsError(try ShardedSafetensors(indexPath: index), shard) {
                XCTAssertTrue("\($0)".contains("not a plain file name"), "\($0)")
            }
        }
        let folder = dir.appendingPathComponent("folder.json")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: folder.path)) { XCTAssertTrue("\($0)".contains("directory"), "\($0)") }
        let huge = dir.appendingPathComponent("huge.json")
        XCTAssertTrue(FileManager.default.createFile(atPath: huge.path, contents: nil))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(Limits.configFileBytes) + 1)
        try handle.close()
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: huge.path)) { XCTAssertTrue("\($0)".contains("more than"), "\($0)") }
    }

    func testNonFiniteWeightsAreErrorsNamingFileAndTensor() throws {
        let path = try write(SafetensorsWriter.file([
            ("fine", "F32", [2], SafetensorsWriter.floats([1, 2])),
            ("nan32", "F32", [3], SafetensorsWriter.floats([1, .nan, 2])),
            ("inf16", "F16", [2], SafetensorsWriter.halves([.infinity, 0])),
            ("nanbf16", "BF16", [2], SafetensorsWriter.bfloats([0, -.nan])),
            ("inf64", "F64", [1], withUnsafeBytes(of: Double(1e300).bitPattern.littleEndian, Array.init)),
        ]), "nan.safetensors")
        let store = try SafetensorsFile(path: path)
        XCTAssertEqual(try store.tensor("fine").scalars, [1, 2])
        for (name, element) in [("nan32", 1), ("inf16", 0), ("nanbf16", 1), ("inf64", 0)] {
            XCTAssertThrowsError(try store.tensor(name), name) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(path) && message.contains("'\(name)'") && message.contains("element \(element)"), message)
            }
        }
        // Beyond the first block, and at the very end of a block-sized tensor.
        var values = [Float](repeating: 0.5, count: 3 * NonFinite.block)
        values[values.count - 1] = -.infinity
        XCTAssertEqual(values.withUnsafeBufferPointer { NonFinite.firstIndex($0.baseAddress!, count: $0.count) }, values.count - 1)
        values[NonFinite.block + 7] = .nan
        XCTAssertEqual(values.withUnsafeBufferPointer { NonFinite.firstIndex($0.baseAddress!, count: $0.count) }, NonFinite.block + 7)
        values = values.map { _ in Float.greatestFiniteMagnitude }
        XCTAssertNil(values.withUnsafeBufferPointer { NonFinite.firstIndex($0.baseAddress!, count: $0.count) })
    }

    func testCheckedTensorShapesAreErrors() throws {
        for shape in [[Int.max, 2], [1 << 40, 1 << 40], [-1, 4], [Limits.tensorElements + 1], [1 << 62, 4, 0]] {
            XCTAssertNil(Tensor.elementCount(shape), "\(shape)")
            XCTAssertThrowsError(try Tensor.zeros(checked: shape, what: "test tensor")) {
                XCTAssertTrue("\($0)".contains("test tensor"), "\($0)")
            }
        }
        XCTAssertEqual(Tensor.elementCount([3, 0, 5]), 0)
        XCTAssertEqual(try Tensor.zeros(checked: [2, 3], what: "t").scalars, [0, 0, 0, 0, 0, 0])
        // An expected shape from a config that overflows is a mismatch, not a trap.
        let store = try SafetensorsFile(path: try write(SafetensorsWriter.file([("w", "F32", [2], SafetensorsWriter.floats([1, 2]))]), "w.safetensors"))
        XCTAssertThrowsError(try store.tensor("w", shape: [1 << 62, 49408])) {
            guard case .shapeMismatch = $0 as? GlimpseError else { return XCTFail("\($0)") }
        }
    }
}
