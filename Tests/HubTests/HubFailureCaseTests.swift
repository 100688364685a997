import Foundation
import Glimpse
import XCTest

/// A library user can tell why a Hub model failed from the error's case, not its text.
final class HubFailureCaseTests: XCTestCase {
    var hub: FakeHub!
    var cache: URL!

    override func setUpWithError() throws {
        hub = FakeHub()
        hub.add("glimpse-test/clip-tiny", try HubFixtures.clipTinyRepo())
        var gated = try HubFixtures.clipTinyRepo()
        gated.token = "hf_secret"
        hub.add("glimpse-test/gated", gated)
        try hub.start()
        cache = try HubFixtures.temporaryFolder()
    }

    override func tearDown() {
        hub.stop()
        try? FileManager.default.removeItem(at: cache)
    }

    func reason(_ spec: String, token: String? = nil, offline: Bool = false, endpoint: String? = nil,
                file: StaticString = #filePath, line: UInt = #line) -> HubFailure.Reason? {
        let environment = HubFixtures.environment(cache: cache, endpoint: endpoint ?? hub.endpoint, token: token, offline: offline)
        do {
            _ = try ModelLocator.resolve(spec, environment: environment)
            XCTFail("\(spec) should fail", file: file, line: line)
        } catch GlimpseError.hub(let failure) {
            XCTAssertEqual(failure.model, spec, file: file, line: line)
            return failure.reason
        } catch {
            XCTFail("\(spec): not a Hub failure: \(error)", file: file, line: line)
        }
        return nil
    }

    func testEachFailureKeepsItsCase() throws {
        guard case .gated(401, false, _)? = reason("glimpse-test/gated") else { return XCTFail("gated without a token") }
        guard case .gated(403, true, _)? = reason("glimpse-test/gated", token: "hf_wrong") else { return XCTFail("gated, wrong token") }
        guard case .unauthorized(401, false, _)? = reason("glimpse-test/absent") else { return XCTFail("absent repository") }
        guard case .revisionNotFound("nope")? = reason("glimpse-test/clip-tiny@nope") else { return XCTFail("revision") }
        guard case .notCached(nil, _)? = reason("glimpse-test/clip-tiny", offline: true) else { return XCTFail("offline") }
        guard case .network(let file, "http://127.0.0.1:1", _, _)? = reason("glimpse-test/clip-tiny", endpoint: "http://127.0.0.1:1"),
              file == "config.json" else { return XCTFail("network") }

        var noWeights = try HubFixtures.clipTinyRepo()
        for name in ["model.safetensors", "pytorch_model.bin"] { noWeights.commits[HubFixtures.commitA]?[name] = nil }
        hub.add("glimpse-test/no-weights", noWeights)
        let none = reason("glimpse-test/no-weights")
        guard case .noneOfAlternatives? = none else { return XCTFail("no weights: \(String(describing: none))") }
        XCTAssertTrue(HubFailure(model: "a/b", reason: none!).isNotFound)

        let weights = try Data(contentsOf: HubFixtures.root.appendingPathComponent("clip-tiny/model.safetensors"))
        hub.corrupt(sha256: FakeHub.sha256(weights))
        guard case .corrupt("model.safetensors", let detail)? = reason("glimpse-test/clip-tiny"), detail.contains("checksum mismatch") else {
            return XCTFail("corrupt")
        }
    }

    /// The note about a local folder rides along without changing the case.
    func testLocalFolderNoteKeepsTheCase() {
        do {
            _ = try ModelLocator.resolve("glimpse-test/absent", environment: HubFixtures.environment(cache: cache, endpoint: hub.endpoint))
            XCTFail("should fail")
        } catch GlimpseError.hub(let failure) {
            guard case .unauthorized = failure.reason else { return XCTFail("\(failure)") }
            XCTAssertEqual(failure.note, "no local folder 'glimpse-test/absent' exists either")
            XCTAssertTrue(failure.description.hasSuffix("; no local folder 'glimpse-test/absent' exists either"))
        } catch {
            XCTFail("\(error)")
        }
    }
}
