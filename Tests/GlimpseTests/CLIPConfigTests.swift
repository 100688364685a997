import XCTest
@testable import Glimpse

final class CLIPConfigTests: XCTestCase {
    func testDefaultsAreViTB32() throws {
        let config = try CLIPConfig(reader: ConfigReader(values: ["text_config": [String: Any](), "vision_config": [String: Any]()], context: "t"))
        XCTAssertEqual(config.vision.tower.hiddenSize, 768)
        XCTAssertEqual(config.vision.patchSize, 32)
        XCTAssertEqual(config.vision.positions, 50)
        XCTAssertEqual(config.text.tower.hiddenSize, 512)
        XCTAssertEqual(config.text.maxPositions, 77)
        XCTAssertEqual(config.text.eosTokenId, 49407)
        XCTAssertEqual(config.projectionDim, 512)
        XCTAssertEqual(config.text.tower.activation, .quickGelu)
    }

    /// Older checkpoints carry `text_config_dict`, whose values override `text_config`.
    func testLegacyConfigDictOverrides() throws {
        let values: [String: Any] = ["text_config": ["hidden_size": 512], "text_config_dict": ["hidden_size": 768, "num_attention_heads": 12],
                                     "vision_config_dict": ["patch_size": 14, "image_size": 336]]
        let config = try CLIPConfig(reader: ConfigReader(values: values, context: "t"))
        XCTAssertEqual(config.text.tower.hiddenSize, 768)
        XCTAssertEqual(config.vision.positions, 577)
    }

    func testInvalidConfigsAreClearErrors() {
        let cases: [([String: Any], String)] = [
            (["vision_config": [String: Any]()], "text_config"),
            (["text_config": [String: Any]()], "vision_config"),
            (["model_type": "blip", "text_config": [String: Any](), "vision_config": [String: Any]()], "blip"),
            (["text_config": ["hidden_size": 10, "num_attention_heads": 3], "vision_config": [String: Any]()], "divisible"),
            (["text_config": [String: Any](), "vision_config": ["image_size": 100, "patch_size": 32]], "multiple"),
            (["text_config": ["hidden_act": "mish"], "vision_config": [String: Any]()], "mish"),
            (["text_config": ["hidden_size": "big"], "vision_config": [String: Any]()], "hidden_size"),
        ]
        for (values, fragment) in cases {
            XCTAssertThrowsError(try CLIPConfig(reader: ConfigReader(values: values, context: "config.json"))) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error) should mention \(fragment)")
            }
        }
    }

    func testMissingFolderAndWeights() throws {
        XCTAssertThrowsError(try Checkpoint(folder: "/no/such/folder")) {
            XCTAssertEqual($0 as? GlimpseError, .fileNotFound(path: "/no/such/folder", what: "model folder"))
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try Checkpoint(folder: empty.path).weights()) { XCTAssertTrue("\($0)".contains("model.safetensors")) }
        XCTAssertThrowsError(try Checkpoint(folder: empty.path).config()) { XCTAssertTrue("\($0)".contains("config.json")) }
    }
}
