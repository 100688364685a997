import XCTest
@testable import Glimpse

/// One model, two files: clip-tiny-variant as sharded safetensors and as the pytorch_model.bin
/// torch.save writes of it (Tools/fixtures/make_torch_fixtures.py) give bit-identical outputs.
final class CheckpointFormatTests: XCTestCase {
    func testPyTorchBinMatchesSafetensorsBitForBit() throws {
        let ref = try Fixtures.json("clip/clip-tiny-variant.json")
        let fromSafetensors = try CLIPModel(checkpoint: Checkpoint(folder: Fixtures.path("clip-tiny-variant")))
        let binFolder = try Checkpoint(folder: Fixtures.path("clip-tiny-variant-bin"))
        XCTAssertTrue((try binFolder.weights() as? PrecisionWeights)?.base is TorchCheckpointFile)
        let fromBin = try CLIPModel(checkpoint: binFolder)
        let pixels = Tensor(shape: try ref.ints("pixel_shape"), values: try ref.floats("pixel_values"))
        let ids = try ref.idLists("ids")
        let image = try fromBin.imageFeatures(pixels: pixels), text = try fromBin.textFeatures(ids: ids)
        XCTAssertEqual(image.scalars, try fromSafetensors.imageFeatures(pixels: pixels).scalars)
        XCTAssertEqual(text.scalars, try fromSafetensors.textFeatures(ids: ids).scalars)
        XCTAssertEqual(fromBin.logitScale, fromSafetensors.logitScale)
        assertClose(image.scalars, try ref.floats("image_features"), abs: 1e-4, "bin image features")
        assertClose(text.scalars, try ref.floats("text_features"), abs: 1e-4, "bin text features")
    }

    /// safetensors wins when both are present; a damaged .bin is an error naming it.
    func testFallbackOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fmt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("not a zip".utf8).write(to: dir.appendingPathComponent("pytorch_model.bin"))
        XCTAssertThrowsError(try Checkpoint(folder: dir.path).weights()) { XCTAssertTrue("\($0)".contains("pytorch_model.bin")) }
        try FileManager.default.copyItem(atPath: Fixtures.path("clip-tiny/model.safetensors"), toPath: dir.appendingPathComponent("model.safetensors").path)
        XCTAssertTrue((try Checkpoint(folder: dir.path).weights() as? PrecisionWeights)?.base is SafetensorsFile)
    }
}
