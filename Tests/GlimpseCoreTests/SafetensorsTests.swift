import Foundation
import XCTest
@testable import GlimpseCore

/// Builds safetensors files byte by byte, so every malformation can be produced.
enum SafetensorsWriter {
    static func file(_ tensors: [(String, String, [Int], [UInt8])], header override: String? = nil) -> [UInt8] {
        var offset = 0
        var entries: [String] = []
        for (name, dtype, shape, bytes) in tensors {
            entries.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes.count)]}")
            offset += bytes.count
        }
        var header = Array((override ?? "{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init)
        out += header
        for t in tensors { out += t.3 }
        return out
    }

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func halves(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian, Array.init) } }
    static func bfloats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian, Array.init) } }
}

final class SafetensorsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String = "model.safetensors") throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func testReadsAllFloatTypes() throws {
        let values: [Float] = [1, -2.5, 0.15625, 65504, 0]
        let path = try write(SafetensorsWriter.file([
            ("a", "F32", [5], SafetensorsWriter.floats(values)),
            ("b", "F16", [1, 5], SafetensorsWriter.halves(values)),
            ("c", "BF16", [5], SafetensorsWriter.bfloats(values)),
        ]))
        let store = try SafetensorsFile(path: path)
        XCTAssertEqual(store.names, ["a", "b", "c"])
        XCTAssertEqual(try store.tensor("a", shape: [5]).scalars, values)
        XCTAssertEqual(try store.tensor("b", shape: [5]).scalars, values)  // [1,5] vs [5] is layout only
        XCTAssertEqual(try store.tensor("c").scalars, values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) })
    }

    func testErrorsNameTheFileAndTensor() throws {
        let good = SafetensorsWriter.file([("w", "F32", [2, 2], SafetensorsWriter.floats([1, 2, 3, 4]))])
        let store = try SafetensorsFile(path: try write(good))
        XCTAssertThrowsError(try store.tensor("missing")) { XCTAssertEqual($0 as? GlimpseError, .missingTensor("missing")) }
        XCTAssertThrowsError(try store.tensor("w", shape: [3, 2])) {
            XCTAssertEqual($0 as? GlimpseError, .shapeMismatch(tensor: "w", expected: [3, 2], actual: [2, 2]))
        }
        let truncated = try write(Array(good.dropLast(3)), "truncated.safetensors")
        XCTAssertThrowsError(try SafetensorsFile(path: truncated)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("truncated.safetensors") && message.contains("'w'"), message)
        }
        for (i, bytes) in [[UInt8](), [1, 2, 3], [255, 255, 255, 255, 255, 255, 255, 127, 0],
                           SafetensorsWriter.file([], header: "not json"),
                           SafetensorsWriter.file([], header: "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}"),
                           SafetensorsWriter.file([], header: "{\"x\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}")].enumerated() {
            XCTAssertThrowsError(try SafetensorsFile(path: try write(bytes, "bad\(i).safetensors")), "case \(i)") { error in
                XCTAssertTrue(String(describing: error).contains("bad\(i).safetensors"), "\(error)")
            }
        }
        XCTAssertThrowsError(try SafetensorsFile(path: dir.appendingPathComponent("nope.safetensors").path)) {
            guard case .fileNotFound = $0 as? GlimpseError else { return XCTFail("\($0)") }
        }
    }

    func testShardedIndex() throws {
        _ = try write(SafetensorsWriter.file([("a", "F32", [1], SafetensorsWriter.floats([7]))]), "s1.safetensors")
        _ = try write(SafetensorsWriter.file([("b", "F32", [1], SafetensorsWriter.floats([8]))]), "s2.safetensors")
        let index = try write(Array(#"{"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#.utf8), "index.json")
        let store = try ShardedSafetensors(indexPath: index)
        XCTAssertEqual(try store.tensor("a").scalars, [7])
        XCTAssertEqual(try store.tensor("b").scalars, [8])
        let wrong = try write(Array(#"{"weight_map":{"c":"s1.safetensors"}}"#.utf8), "wrong.json")
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: wrong)) { XCTAssertTrue("\($0)".contains("'c'")) }
        let escape = try write(Array(#"{"weight_map":{"a":"../x.safetensors"}}"#.utf8), "escape.json")
        XCTAssertThrowsError(try ShardedSafetensors(indexPath: escape))
    }

    func testConfigReaderTypesAndDefaults() throws {
        let reader = ConfigReader(values: ["n": 3, "f": 0.5, "s": "x", "b": true, "bad": "3", "obj": ["k": 1]], context: "c.json")
        XCTAssertEqual(try reader.int("n"), 3)
        XCTAssertEqual(try reader.int("absent", default: 9), 9)
        XCTAssertEqual(try reader.double("f"), 0.5)
        XCTAssertEqual(try reader.string("s"), "x")
        XCTAssertEqual(try reader.bool("b", default: false), true)
        XCTAssertEqual(try reader.section("obj")?.int("k"), 1)
        XCTAssertThrowsError(try reader.int("bad")) { XCTAssertTrue("\($0)".contains("'bad'")) }
        XCTAssertThrowsError(try reader.int("absent"))
        XCTAssertThrowsError(try reader.int("n", min: 4))
        XCTAssertThrowsError(try reader.section("s"))
        XCTAssertThrowsError(try reader.int("f"))
    }
}
