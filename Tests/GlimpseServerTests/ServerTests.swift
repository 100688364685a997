import Foundation
import Glimpse
@testable import GlimpseServer
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// The HTTP API against the library calls it fronts, on the tiny test models: same numbers,
/// the right status for every kind of bad request, and concurrent requests merged into
/// shared forward passes.
final class ServerTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let clip = try! CLIP(folder: fixtures.appendingPathComponent("clip-tiny").path)
    static let blip = try! BLIPCaptioner(folder: fixtures.appendingPathComponent("blip-caption-tiny").path)
    static let owl = try! OwlViT(folder: fixtures.appendingPathComponent("owlvit-tiny").path)
    static let photo = try! Data(contentsOf: fixtures.appendingPathComponent("images/chelsea.png"))

    func app(clip: CLIP? = ServerTests.clip, captioner: BLIPCaptioner? = ServerTests.blip, detector: OwlViT? = ServerTests.owl,
             configure: (inout ServerConfiguration) -> Void = { _ in }) -> (some ApplicationProtocol, ModelService) {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        let service = ModelService(clip: clip, captioner: captioner, detector: detector, names: ["clip": "clip-tiny"],
                                   batchSize: configuration.batchSize, capacity: configuration.queueCapacity)
        let router = GlimpseServer.router(service: service, configuration: configuration)
        return (GlimpseServer.application(router: router, configuration: configuration), service)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    static func floats(_ value: Any?) -> [Float] { ((value as? [Any]) ?? []).map { Float(($0 as? NSNumber)?.doubleValue ?? .nan) } }

    func testEmbeddingsEqualTheLibrary() async throws {
        let (app, _) = app()
        let image = try ImageDecoder.decode(data: [UInt8](Self.photo), name: "chelsea")
        let expectedImage = try Self.clip.embed(images: [image]).scalars
        let expectedText = try Self.clip.embed(texts: ["a cat on a sofa"]).scalars
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/embed/image", method: .post, body: ByteBuffer(data: Self.photo)) { response in
                XCTAssertEqual(response.status, .ok)
                let got = Self.floats(try Self.json(response)["embedding"])
                XCTAssertEqual(got.count, expectedImage.count)
                for (a, b) in zip(got, expectedImage) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            }
            // As a browser's form encoding sends it: spaces as "+".
            try await client.execute(uri: "/api/embed/text?text=a+cat+on+a%20sofa", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let got = Self.floats(try Self.json(response)["embedding"])
                for (a, b) in zip(got, expectedText) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            }
        }
    }

    func testClassifyCaptionAndDetectEqualTheLibrary() async throws {
        let (app, _) = app()
        let image = try ImageDecoder.decode(data: [UInt8](Self.photo), name: "chelsea")
        let labels = ["cat", "dog", "coffee cup"]
        let zeroShot = try ZeroShotClassifier(clip: Self.clip, labels: labels)
        let expected = zeroShot.classify(imageEmbeddings: try Self.clip.embed(images: [image]))[0]
        let caption = try Self.blip.caption(images: [image])[0][0].text
        let boxes = try Self.owl.detect([image], queries: try Self.owl.textQueries(["a cat", "a remote"]), threshold: 0.0)[0]
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/classify?label=cat&label=dog&label=coffee%20cup", method: .post,
                                     body: ByteBuffer(data: Self.photo)) { response in
                XCTAssertEqual(response.status, .ok)
                let got = try XCTUnwrap(try Self.json(response)["labels"] as? [[String: Any]])
                XCTAssertEqual(got.map { $0["label"] as? String }, expected.map(\.label))
                for (g, e) in zip(got, expected) {
                    XCTAssertEqual((g["probability"] as? NSNumber)?.floatValue ?? -1, e.probability, accuracy: 1e-5)
                    XCTAssertEqual((g["logit"] as? NSNumber)?.floatValue ?? -1, e.logit, accuracy: 1e-4)
                }
            }
            try await client.execute(uri: "/api/caption", method: .post, body: ByteBuffer(data: Self.photo)) { response in
                XCTAssertEqual(response.status, .ok)
                let got = try XCTUnwrap(try Self.json(response)["captions"] as? [[String: Any]])
                XCTAssertEqual(got.first?["text"] as? String, caption)
            }
            try await client.execute(uri: "/api/detect?query=a%20cat&query=a%20remote&threshold=0", method: .post,
                                     body: ByteBuffer(data: Self.photo)) { response in
                XCTAssertEqual(response.status, .ok)
                let body = try Self.json(response)
                XCTAssertEqual(body["width"] as? Int, image.width)
                let got = try XCTUnwrap(body["detections"] as? [[String: Any]])
                XCTAssertEqual(got.count, boxes.count)
                for (g, e) in zip(got, boxes) {
                    XCTAssertEqual(g["label"] as? String, e.label)
                    XCTAssertEqual(Self.floats(g["box"]), e.box.corners)
                }
            }
        }
    }

    func testBadRequestsGetTheRightStatus() async throws {
        let (app, _) = app(captioner: nil) { $0.maxUploadBytes = 4096 }
        try await app.test(.router) { client in
            // Not an image.
            try await client.execute(uri: "/api/embed/image", method: .post, body: ByteBuffer(string: "hello")) { response in
                XCTAssertEqual(response.status, .badRequest)
                XCTAssertNotNil(try Self.json(response)["error"] as? String)
            }
            // Empty body, missing parameters.
            try await client.execute(uri: "/api/embed/image", method: .post) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/api/embed/text", method: .get) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/api/classify", method: .post, body: ByteBuffer(data: Self.photo.prefix(100))) {
                XCTAssertEqual($0.status, .badRequest)
            }
            try await client.execute(uri: "/api/detect?query=a%20cat&threshold=2", method: .post) { XCTAssertEqual($0.status, .badRequest) }
            // Over the upload limit.
            try await client.execute(uri: "/api/embed/image", method: .post, body: ByteBuffer(data: Self.photo)) { response in
                XCTAssertEqual(response.status, .contentTooLarge)
            }
            // A model this server did not load.
            try await client.execute(uri: "/api/caption", method: .post, body: ByteBuffer(data: Self.photo.prefix(10))) { response in
                XCTAssertEqual(response.status, .notFound)
                XCTAssertTrue((try Self.json(response)["error"] as? String ?? "").contains("--caption-model"))
            }
            try await client.execute(uri: "/api/nothing", method: .get) { XCTAssertEqual($0.status, .notFound) }
        }
    }

    func testConcurrentRequestsShareForwardPasses() async throws {
        let (app, service) = app { $0.batchSize = 8 }
        let texts = (0 ..< 24).map { "photo number \($0)" }
        let expected = try Self.clip.embed(texts: texts).scalars
        let dim = expected.count / texts.count
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for (i, text) in texts.enumerated() {
                    group.addTask {
                        let query = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                        return try await client.execute(uri: "/api/embed/text?text=\(query)", method: .get) { response in
                            XCTAssertEqual(response.status, .ok)
                            return (i, Self.floats(try Self.json(response)["embedding"]))
                        }
                    }
                }
                for try await (i, got) in group {
                    for (a, b) in zip(got, expected[i * dim ..< (i + 1) * dim]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
                }
            }
        }
        let stats = try XCTUnwrap(service.textEmbeddings?.statistics)
        XCTAssertEqual(stats.inputs, 24)
        XCTAssertLessThan(stats.batches, 24, "concurrent requests were merged into batches")
    }

    func testFullQueueAnswers503WithRetryAfter() async throws {
        // A queue of capacity 1 whose model takes 200 ms: of 6 simultaneous requests, at most
        // one runs and one waits; the others are refused at once.
        let queue = BatchQueue<Int, Int>(name: "slow", batchSize: 1, capacity: 1) { inputs in
            Thread.sleep(forTimeInterval: 0.2)
            return inputs.map { .success($0) }
        }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0 ..< 6 { group.addTask { (try? await queue.submit(i)) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        XCTAssertGreaterThanOrEqual(outcomes.filter { !$0 }.count, 3)
        XCTAssertGreaterThanOrEqual(outcomes.filter { $0 }.count, 1)
        queue.stop()
        // Through the server: the refusal is a 503 with Retry-After.
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.get("busy") { _, _ -> Response in throw BatchQueueFull(queue: "slow", capacity: 1) }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/busy", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssertEqual(response.headers[.retryAfter], "1")
                XCTAssertTrue((try Self.json(response)["error"] as? String ?? "").contains("busy"))
            }
        }
    }

    func testBearerTokenGuardsTheAPIButNotThePage() async throws {
        let token = "0123456789abcdef-secret"
        let (app, _) = app { $0.token = token }
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/health", method: .get) { XCTAssertEqual($0.status, .unauthorized) }
            try await client.execute(uri: "/api/health", method: .get, headers: [.authorization: "Bearer wrong-token-0123456"]) {
                XCTAssertEqual($0.status, .unauthorized)
            }
            try await client.execute(uri: "/api/health", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                XCTAssertEqual($0.status, .ok)
            }
            try await client.execute(uri: "/", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertTrue(String(buffer: response.body).contains("<title>Glimpse</title>"))
            }
        }
        XCTAssertTrue(BearerTokenMiddleware<BasicRequestContext>.equal(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(BearerTokenMiddleware<BasicRequestContext>.equal(Array("abc".utf8), Array("abcd".utf8)))
    }

    func testConfigurationRefusesUnsafeSettings() {
        var configuration = ServerConfiguration()
        XCTAssertNoThrow(try configuration.validate())
        configuration.host = "0.0.0.0"
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".contains("--token")) }
        configuration.token = "short"
        XCTAssertThrowsError(try configuration.validate())
        configuration.token = "a-long-enough-token-123"
        XCTAssertNoThrow(try configuration.validate())
        configuration.port = 70000
        XCTAssertThrowsError(try configuration.validate())
    }

    func testOpenAPIDocumentListsEveryRoute() async throws {
        let (app, _) = app()
        try await app.test(.live) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let document = try Self.json(response)
                XCTAssertEqual(document["openapi"] as? String, "3.1.0")
                let paths = try XCTUnwrap(document["paths"] as? [String: Any])
                XCTAssertEqual(Set(paths.keys), ["/api/health", "/api/embed/text", "/api/embed/image", "/api/classify", "/api/caption", "/api/detect", "/api/search"])
            }
            try await client.execute(uri: "/api/health", method: .get) { response in
                XCTAssertEqual((try Self.json(response)["models"] as? [String: String])?["clip"], "clip-tiny")
            }
        }
    }
}
