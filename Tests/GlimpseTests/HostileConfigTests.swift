import Foundation
import XCTest
@testable import Glimpse

/// Model folders with hostile or broken configurations, weights and tokenizers: each must
/// fail at load with an error naming the file and the key or tensor, never trap.
final class HostileConfigTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A copy of fixture folder `name` whose config.json is passed through `edit`.
    func folder(_ name: String, as copy: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let source = URL(fileURLWithPath: Fixtures.path(name))
        let target = dir.appendingPathComponent(copy)
        try FileManager.default.copyItem(at: source, to: target)
        let configURL = target.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        return target
    }

    func assertFails(_ load: () throws -> Any, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(), file: file, line: line) { error in
            let message = "\(error)"
            for fragment in fragments { XCTAssertTrue(message.contains(fragment), "\(message) lacks \(fragment)", file: file, line: line) }
        }
    }

    func edited(_ section: String, _ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { config in
            var inner = config[section] as? [String: Any] ?? [:]
            inner[key] = value
            config[section] = inner
        }
    }

    func testHugeSizesAreErrorsNamingFileAndKey() throws {
        let cases: [(String, String, Any)] = [
            ("text_config", "hidden_size", 1 << 62), ("vision_config", "hidden_size", 1 << 62),
            ("text_config", "vocab_size", 1 << 40), ("text_config", "max_position_embeddings", 1 << 40),
            ("text_config", "intermediate_size", Int.max), ("text_config", "num_hidden_layers", 1 << 40),
            ("vision_config", "image_size", 1 << 40), ("vision_config", "patch_size", 1 << 40),
            ("vision_config", "num_channels", 1 << 40), ("text_config", "num_attention_heads", 0),
            ("text_config", "hidden_size", -16), ("text_config", "hidden_size", 1.5), ("text_config", "hidden_size", true),
        ]
        for (i, (section, key, value)) in cases.enumerated() {
            let model = try folder("clip-tiny", as: "huge\(i)", edit: edited(section, key, value))
            assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: model.path)) },
                        [model.appendingPathComponent("config.json").path, section, "'\(key)'"])
        }
        let projection = try folder("clip-tiny", as: "projection") { $0["projection_dim"] = 1 << 62 }
        assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: projection.path)) }, ["'projection_dim'", "at most \(Limits.configDimension)"])
    }

    func testEpsilonsMustBeFinitePositive() throws {
        for (i, eps) in ([0, -1e-5, 1e300] as [Double]).enumerated() {
            let model = try folder("clip-tiny", as: "eps\(i)", edit: edited("vision_config", "layer_norm_eps", eps))
            assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: model.path)) }, ["vision_config", "'layer_norm_eps'", "finite number greater than 0"])
        }
        let bert = ConfigReader(values: ["layer_norm_eps": 0], context: "bert/config.json")
        assertFails({ try BERTConfig(bert) }, ["bert/config.json", "'layer_norm_eps'"])
        let blip = ConfigReader(values: ["vision_config": ["image_size": 1 << 50]], context: "blip/config.json")
        assertFails({ try BLIPConfig(reader: blip) }, ["blip/config.json › vision_config", "'image_size'"])
    }

    func testOpenCLIPRatiosAndWidthsAreBounded() throws {
        func config(text: [String: Any] = [:], vision: [String: Any] = [:]) -> ConfigReader {
            ConfigReader(values: ["model_cfg": ["embed_dim": 16, "text_cfg": text, "vision_cfg": vision]], context: "open_clip_config.json")
        }
        assertFails({ try OpenCLIPConfig(reader: config(text: ["mlp_ratio": 1e300])) }, ["text_cfg", "mlp_ratio"])
        assertFails({ try OpenCLIPConfig(reader: config(text: ["width": 1 << 62])) }, ["text_cfg", "'width'"])
        assertFails({ try OpenCLIPConfig(reader: config(vision: ["width": 1 << 62])) }, ["vision_cfg", "'width'"])
        assertFails({ try OpenCLIPConfig(reader: config(vision: ["mlp_ratio": -1])) }, ["vision_cfg", "mlp_ratio"])
        assertFails({ try OpenCLIPConfig(reader: config(vision: ["image_size": [1.5, 1.5]])) }, ["image_size"])
        assertFails({ try OpenCLIPConfig(reader: config(vision: ["layers": [3, 4, 1 << 62, 3]])) }, ["'layers'"])
        assertFails({ try OpenCLIPConfig(reader: config(vision: ["norm_kwargs": ["eps": 0]])) }, ["norm_kwargs", "'eps'"])
    }

    func testConfigFilesAreCheckedBeforeReading() throws {
        let model = try folder("clip-tiny", as: "files")
        let config = model.appendingPathComponent("config.json")
        try FileManager.default.removeItem(at: config)
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: false)
        assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: model.path)) }, [config.path, "is a directory"])
        try FileManager.default.removeItem(at: config)
        XCTAssertTrue(FileManager.default.createFile(atPath: config.path, contents: nil))
        let handle = try FileHandle(forWritingTo: config)
        try handle.truncate(atOffset: UInt64(Limits.configFileBytes) + 1)
        try handle.close()
        assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: model.path)) }, [config.path, "more than the \(Limits.configFileBytes) bytes"])
        try Data("[".utf8 + [UInt8](repeating: UInt8(ascii: "["), count: 100_000)).write(to: config)
        assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: model.path)) }, [config.path, "not a JSON object"])
    }

    func testNonFiniteWeightIsAnErrorAtLoad() throws {
        let model = try folder("clip-tiny", as: "nan")
        let weights = model.appendingPathComponent("model.safetensors")
        let name = "vision_model.encoder.layers.1.mlp.fc1.weight"
        let offset: Int = try {
            let store = try SafetensorsFile(path: weights.path)
            let entry = try XCTUnwrap(store.entries[name])
            return try XCTUnwrap(entry.owner as? MappedFile).base.distance(to: entry.bytes)
        }()
        var bytes = try Data(contentsOf: weights)
        bytes[offset + 6] = 0x00; bytes[offset + 7] = 0x7E  // fp16 NaN as the fourth element
        try bytes.write(to: weights)
        assertFails({ try CLIPModel(checkpoint: Checkpoint(folder: model.path)) }, [weights.path, "'\(name)'", "nan", "element 3"])
    }

    func testTokenizerLargerThanTheEmbeddingTableIsAnErrorNamingBothFiles() throws {
        // clip-tiny-variant's table has 1,000 rows; CLIP's BPE vocabulary has 49,408 ids.
        let model = try folder("clip-tiny-variant", as: "vocab")
        let vocabulary = model.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
        try FileManager.default.copyItem(atPath: Fixtures.path("clip-tiny/bpe_simple_vocab_16e6.txt.gz"), toPath: vocabulary.path)
        let clip = try CLIP(folder: model.path)
        assertFails({ try clip.tokenize("a photo of a cat") },
                    [vocabulary.path, model.appendingPathComponent("model.safetensors.index.json").path, "49407", "1000 rows"])

        // A WordPiece vocabulary with more entries than BLIP's word embeddings: refused at load.
        let blip = try folder("blip-itm-tiny", as: "blip-vocab")
        let words = blip.appendingPathComponent("vocab.txt")
        let handle = try FileHandle(forWritingTo: words)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((0..<10).map { "extra\($0)\n" }.joined().utf8))
        try handle.close()
        assertFails({ try BLIPMatcher(folder: blip.path) }, [words.path, blip.appendingPathComponent("model.safetensors").path, "30531"])
    }
}
