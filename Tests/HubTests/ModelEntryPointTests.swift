import Foundation
import Glimpse
import XCTest

/// Every model is opened the same way from a folder or a Hub id (`init(model:)`), and a Hub id
/// gives the same model as the folder it was cached from.
final class ModelEntryPointTests: XCTestCase {
    var cache: URL!
    var environment: HubEnvironment { HubFixtures.environment(cache: cache, endpoint: "http://127.0.0.1:1", offline: true) }
    let chelsea = HubFixtures.root.appendingPathComponent("images/chelsea.png")

    override func setUpWithError() throws {
        cache = try HubFixtures.temporaryFolder("entry")
        for fixture in ["clip-tiny", "owlvit-tiny", "blip-caption-tiny", "blip-itm-tiny"] {
            try HubFixtures.writePythonCache(root: cache, repo: "glimpse-test/\(fixture)", commit: HubFixtures.commitA,
                                             files: HubFixtures.files(fixture), refs: ["main": HubFixtures.commitA],
                                             lfs: { $0.hasSuffix(".safetensors") || $0.hasSuffix(".gz") })
        }
    }

    override func tearDown() { try? FileManager.default.removeItem(at: cache) }

    func folder(_ name: String) -> String { HubFixtures.root.appendingPathComponent(name).path }

    func testCLIPAndOwlViTOpenFromAFolderOrAHubID() throws {
        let hub = try CLIP(model: "glimpse-test/clip-tiny", environment: environment)
        XCTAssertTrue(hub.checkpoint.folder.path.hasSuffix("snapshots/\(HubFixtures.commitA)"), hub.checkpoint.folder.path)
        let local = try CLIP(model: folder("clip-tiny"), environment: environment)
        XCTAssertEqual(local.checkpoint.folder.standardizedFileURL.path, URL(fileURLWithPath: folder("clip-tiny")).standardizedFileURL.path)
        XCTAssertEqual(try hub.embed(imageFiles: [chelsea.path]).scalars, try local.embed(imageFiles: [chelsea.path]).scalars)

        let owl = try OwlViT(model: "glimpse-test/owlvit-tiny@\(HubFixtures.commitA)", environment: environment)
        let owlLocal = try OwlViT(folder: folder("owlvit-tiny"))
        let image = try ImageDecoder.decode(contentsOf: chelsea)
        XCTAssertEqual(try owl.detect([image], queries: owl.textQueries(["a cat"]), threshold: 0),
                       try owlLocal.detect([image], queries: owlLocal.textQueries(["a cat"]), threshold: 0))
    }

    func testBLIPOpensFromAFolderOrAHubID() throws {
        let image = try ImageDecoder.decode(contentsOf: chelsea)
        let captioner = try BLIPCaptioner(model: "glimpse-test/blip-caption-tiny", environment: environment)
        XCTAssertEqual(try captioner.caption(images: [image]), try BLIPCaptioner(model: folder("blip-caption-tiny")).caption(images: [image]))
        let matcher = try BLIPMatcher(model: "glimpse-test/blip-itm-tiny", environment: environment)
        XCTAssertEqual(try matcher.match(images: [image], texts: ["a cat"]),
                       try BLIPMatcher(model: folder("blip-itm-tiny")).match(images: [image], texts: ["a cat"]))
        XCTAssertTrue(BLIPCaptioner.files.optional.contains("generation_config.json"), "decoding defaults are fetched with the model")
        XCTAssertTrue(SentenceEncoder.files.optional.contains("sentence_bert_config.json"), "the length limit is fetched with the model")
    }

    func testAMissingModelSaysWhatWasTried() throws {
        assertHubError(["glimpse-test/absent", "no local folder"]) { try CLIP(model: "glimpse-test/absent", environment: environment) }
        XCTAssertThrowsError(try OwlViT(model: "/no/such/folder", environment: environment)) {
            XCTAssertEqual($0 as? GlimpseError, .fileNotFound(path: "/no/such/folder", what: "model folder"))
        }
    }
}
