import Foundation
import XCTest
@testable import GlimpseCore

/// The PyTorch zip checkpoint reader against files written by torch.save
/// (Tools/fixtures/make_torch_fixtures.py), and its refusals of hostile or damaged files.
final class TorchCheckpointTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/torch")
    func path(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func expected() throws -> [String: (shape: [Int], values: [Float])] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("views.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return try json.mapValues { entry in
            (try XCTUnwrap(entry["shape"] as? [Int]), try XCTUnwrap(entry["values"] as? [Double]).map(Float.init))
        }
    }

    /// fp32/fp16/bf16/fp64, transposed, sliced, shared-storage, strided, expanded (stride 0) and
    /// permuted views, a 0-dim tensor and an nn.Parameter: every value exact after widening to fp32.
    func check(_ store: WeightStore, _ file: String) throws {
        let reference = try expected()
        XCTAssertEqual(Set(store.names), Set(reference.keys), file)
        for (name, (shape, values)) in reference {
            let tensor = try store.tensor(name)
            XCTAssertEqual(tensor.shape, shape, "\(file) \(name)")
            XCTAssertEqual(tensor.scalars, values, "\(file) \(name)")
        }
    }

    func testViewsAndDtypes() throws {
        for file in ["views.pt", "views_protocol5.pt", "nested.pth"] {
            try check(try TorchCheckpointFile(path: path(file)), file)
        }
    }

    /// Contiguous tensors are used in place: they point into the mapped file, and two tensors
    /// sharing one storage point into the same record at their offsets.
    func testContiguousTensorsAreNotCopied() throws {
        let store = try TorchCheckpointFile(path: path("views.pt"))
        let a = try XCTUnwrap(store.entries["shared_a"]), b = try XCTUnwrap(store.entries["shared_b"])
        XCTAssertEqual(b.bytes - a.bytes, 8 * 4)
        XCTAssertTrue(a.owner is MappedFile)
        XCTAssertFalse(try XCTUnwrap(store.entries["f32_transposed"]).owner is MappedFile)
        XCTAssertEqual(Int(bitPattern: try XCTUnwrap(store.entries["f32"]).bytes) % 64, 0, "torch aligns records to 64 bytes")
    }

    /// The same fp16/bf16 values from safetensors, for the format-independence of conversion.
    func testHalfPrecisionSafetensorsMatch() throws {
        let torch = try TorchCheckpointFile(path: path("views.pt"))
        let safetensors = try SafetensorsFile(path: path("dtypes.safetensors"))
        for name in ["f16", "bf16", "f32"] {
            XCTAssertEqual(try safetensors.tensor(name).scalars, try torch.tensor(name).scalars, name)
        }
    }

    func assertRefused(_ file: String, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try TorchCheckpointFile(path: path(file)), line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(error is GlimpseError, message, line: line)
            for fragment in fragments + [file] {
                XCTAssertTrue(message.contains(fragment), "'\(message)' should mention '\(fragment)'", line: line)
            }
        }
    }

    /// Archives over 4 GiB use ZIP64 records; a small one with every field in ZIP64 form reads the same.
    func testZip64() throws {
        XCTAssertEqual(try TorchCheckpointFile(path: path("zip64.pt")).tensor("w").scalars, [1, 2, 3, 4])
    }

    func testHostilePicklesAreRefused() throws {
        XCTAssertEqual(try TorchCheckpointFile(path: path("hostile/valid.pt")).tensor("w").scalars, [1, 2, 3, 4])
        assertRefused("hostile/os_system.pt", ["refusing", "os.system"])
        assertRefused("hostile/stack_global_eval.pt", ["refusing", "builtins.eval"])
        assertRefused("hostile/reduce_storage.pt", ["refusing", "torch.FloatStorage"])
    }

    func testDamagedFilesAreClearErrors() throws {
        assertRefused("hostile/short_storage.pt", ["tensor 'w'", "12 bytes"])
        assertRefused("hostile/view_past_end.pt", ["tensor 'w'", "storage of 4"])
        assertRefused("hostile/legacy.pt", ["legacy format"])

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: path("views.pt")))
        // Every truncation point is an error, never a crash.
        for cut in stride(from: 0, to: whole.count, by: 97) {
            let file = dir.appendingPathComponent("cut\(cut).pt")
            try whole.prefix(cut).write(to: file)
            XCTAssertThrowsError(try TorchCheckpointFile(path: file.path)) { XCTAssertTrue("\($0)".contains(file.path)) }
        }
        // A damaged pickle: every byte of data.pkl flipped in turn must never crash.
        let archive = try ZipArchive(MappedFile(path: path("hostile/valid.pt")))
        let pickle = try XCTUnwrap(archive.entries["archive/data.pkl"])
        for i in 0..<pickle.size {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path("hostile/valid.pt")))
            bytes[pickle.dataOffset + i] ^= 0x5A
            let file = dir.appendingPathComponent("flip.pt")
            try bytes.write(to: file)
            _ = try? TorchCheckpointFile(path: file.path)
        }
        let notZip = dir.appendingPathComponent("text.bin")
        try Data("hello".utf8).write(to: notZip)
        XCTAssertThrowsError(try TorchCheckpointFile(path: notZip.path)) { XCTAssertTrue("\($0)".contains("not a PyTorch checkpoint")) }
    }
}
