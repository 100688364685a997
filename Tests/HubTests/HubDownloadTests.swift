import Foundation
import Glimpse
import XCTest

/// Downloads from a local server that answers like the Hub: cache layout, redirects, resumed
/// and corrupt transfers, errors, tokens.
final class HubDownloadTests: XCTestCase {
    var hub: FakeHub!
    var cache: URL!
    let fm = FileManager.default
    let repoFolder = "models--glimpse-test--clip-tiny"

    override func setUpWithError() throws {
        hub = FakeHub()
        hub.add("glimpse-test/clip-tiny", try HubFixtures.clipTinyRepo())
        try hub.start()
        cache = try HubFixtures.temporaryFolder()
    }

    override func tearDown() {
        hub.stop()
        try? fm.removeItem(at: cache)
    }

    func resolve(_ spec: String = "glimpse-test/clip-tiny", files: ModelFiles = .model, token: String? = nil) throws -> Checkpoint {
        try ModelLocator.resolve(spec, files: files, environment: HubFixtures.environment(cache: cache, endpoint: hub.endpoint, token: token))
    }

    func gets(_ prefix: String) -> [FakeHub.Request] { hub.requests.filter { $0.method == "GET" && $0.path.hasPrefix(prefix) } }

    /// Only the files a CLIP model needs arrive, laid out as huggingface_hub lays them out, and
    /// the model loaded from the snapshot gives transformers' embeddings.
    func testFetchesOnlyNeededFilesInPythonLayout() throws {
        let checkpoint = try resolve()
        let repo = cache.appendingPathComponent(repoFolder)
        let snapshot = repo.appendingPathComponent("snapshots/\(HubFixtures.commitA)")
        XCTAssertEqual(checkpoint.folder.standardizedFileURL.path, snapshot.standardizedFileURL.path)
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: snapshot.path)),
                       ["config.json", "preprocessor_config.json", "model.safetensors", "bpe_simple_vocab_16e6.txt.gz"])
        XCTAssertEqual(try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8), HubFixtures.commitA)

        let fixture = try HubFixtures.files("clip-tiny")
        for (name, data) in fixture {
            let lfs = name.hasSuffix(".safetensors") || name.hasSuffix(".gz")
            let etag = lfs ? FakeHub.sha256(data) : FakeHub.gitBlobID(data)
            XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: snapshot.appendingPathComponent(name).path), "../../blobs/\(etag)", name)
            XCTAssertEqual(try Data(contentsOf: repo.appendingPathComponent("blobs/\(etag)")), data, name)
        }
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: repo.appendingPathComponent("blobs").path).count, fixture.count, "no .incomplete left")
        // Absent optional files are remembered, as Python does, so they are not asked for again.
        for absent in ["tokenizer_config.json", "vocab.json", "tokenizer.json", "vocab.txt"] {
            XCTAssertTrue(fm.fileExists(atPath: repo.appendingPathComponent(".no_exist/\(HubFixtures.commitA)/\(absent)").path), absent)
        }
        XCTAssertTrue(fm.fileExists(atPath: cache.appendingPathComponent(".locks/\(repoFolder)").path))
        XCTAssertTrue(try String(contentsOf: cache.appendingPathComponent("CACHEDIR.TAG"), encoding: .utf8)
            .hasPrefix("Signature: 8a477f597d28d172789f06886806bc55"))
        XCTAssertFalse(hub.requests.contains { $0.path.contains("pytorch_model.bin") || $0.path.contains("flax") || $0.path.contains("README") })

        let (texts, expected) = try HubFixtures.referenceTextEmbeddings()
        let clip = try CLIP(checkpoint: checkpoint)
        let embeddings = try clip.embed(texts: texts)
        var maxError: Double = 0
        for i in 0..<expected.count { maxError = max(maxError, abs(Double(embeddings.data[i]) - expected[i])) }
        print("hub-loaded CLIP text embeddings: max abs error \(maxError) vs transformers")
        XCTAssertLessThan(maxError, 1e-5)
    }

    /// The LFS file's 302 points at another host (`localhost`): the token goes to the
    /// endpoint only, never to the CDN.
    func testAbsoluteRedirectAndTokenOnlyToEndpoint() throws {
        var repo = try HubFixtures.clipTinyRepo()
        repo.token = "hf_secret"
        hub.add("glimpse-test/gated", repo)
        assertHubError(["is gated", "HF_TOKEN", "401"]) { try resolve("glimpse-test/gated") }
        assertHubError(["is gated", "403", "no access"]) { try resolve("glimpse-test/gated", token: "hf_wrong") }
        hub.clearRequests()
        _ = try resolve("glimpse-test/gated", token: "hf_secret")
        let resolveRequests = hub.requests.filter { $0.path.contains("/resolve/") }
        let cdnRequests = hub.requests.filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertFalse(resolveRequests.isEmpty)
        XCTAssertEqual(cdnRequests.count, 2, "model.safetensors and the gzip vocabulary come from the CDN")
        XCTAssertTrue(resolveRequests.allSatisfy { $0.headers["authorization"] == "Bearer hf_secret" })
        XCTAssertTrue(cdnRequests.allSatisfy { $0.headers["authorization"] == nil && $0.headers["host"]?.hasPrefix("localhost") == true })
        XCTAssertTrue(resolveRequests.allSatisfy { $0.headers["accept-encoding"] == "identity" })
    }

    /// A relative Location stays on the endpoint: followed in the HEAD, downloaded from there.
    func testRelativeRedirect() throws {
        hub.relativeRedirects = true
        let checkpoint = try resolve()
        XCTAssertEqual(try Data(contentsOf: checkpoint.file("model.safetensors")),
                       try Data(contentsOf: HubFixtures.root.appendingPathComponent("clip-tiny/model.safetensors")))
        XCTAssertTrue(hub.requests.contains { $0.method == "HEAD" && $0.path.hasPrefix("/cdn/") && $0.headers["host"]?.hasPrefix("127.0.0.1") == true })
    }

    /// The server closes the connection half-way: the client asks again for the rest with a Range.
    func testInterruptedTransferResumesWithRange() throws {
        let weights = try Data(contentsOf: HubFixtures.root.appendingPathComponent("clip-tiny/model.safetensors"))
        let sha = FakeHub.sha256(weights)
        hub.interruptOnce(sha256: sha)
        let checkpoint = try resolve()
        XCTAssertEqual(try Data(contentsOf: checkpoint.file("model.safetensors")), weights)
        let blobGets = gets("/cdn/\(sha)")
        XCTAssertEqual(blobGets.count, 2)
        XCTAssertNil(blobGets[0].headers["range"])
        XCTAssertEqual(blobGets[1].headers["range"], "bytes=\(weights.count / 2)-")
    }

    /// A partial blob left by an earlier run is completed, not downloaded again.
    func testPartialFileFromEarlierRunIsCompleted() throws {
        let weights = try Data(contentsOf: HubFixtures.root.appendingPathComponent("clip-tiny/model.safetensors"))
        let sha = FakeHub.sha256(weights)
        let blobs = cache.appendingPathComponent("\(repoFolder)/blobs")
        try fm.createDirectory(at: blobs, withIntermediateDirectories: true)
        try weights.prefix(1000).write(to: blobs.appendingPathComponent("\(sha).incomplete"))
        let checkpoint = try resolve()
        XCTAssertEqual(try Data(contentsOf: checkpoint.file("model.safetensors")), weights)
        XCTAssertEqual(gets("/cdn/\(sha)").map { $0.headers["range"] }, ["bytes=1000-"])
    }

    /// The progress handler hears growing byte counts and one finished event per downloaded file.
    func testProgressIsReported() throws {
        final class Events: @unchecked Sendable { let lock = NSLock(); var all: [DownloadProgress] = [] }
        let events = Events()
        _ = try ModelLocator.resolve("glimpse-test/clip-tiny", environment: HubFixtures.environment(cache: cache, endpoint: hub.endpoint),
                                     progress: { event in events.lock.withLock { events.all.append(event) } })
        let fixture = try HubFixtures.files("clip-tiny")
        let finished = events.all.filter(\.finished)
        XCTAssertEqual(Set(finished.map(\.file)), Set(fixture.keys))
        for event in finished {
            XCTAssertEqual(event.received, Int64(fixture[event.file]?.count ?? -1), event.file)
            XCTAssertEqual(event.total, event.received, event.file)
            let counts = events.all.filter { $0.file == event.file }.map(\.received)
            XCTAssertEqual(counts, counts.sorted(), "monotonic for \(event.file)")
        }
    }

    /// Bytes that do not hash to the ETag never reach the cache under the blob's name.
    func testChecksumMismatchIsRejected() throws {
        let weights = try Data(contentsOf: HubFixtures.root.appendingPathComponent("clip-tiny/model.safetensors"))
        let sha = FakeHub.sha256(weights)
        hub.corrupt(sha256: sha)
        assertHubError(["model.safetensors", "checksum mismatch", sha]) { try resolve() }
        let repo = cache.appendingPathComponent(repoFolder)
        XCTAssertFalse(fm.fileExists(atPath: repo.appendingPathComponent("blobs/\(sha)").path))
        XCTAssertFalse(fm.fileExists(atPath: repo.appendingPathComponent("blobs/\(sha).incomplete").path))
        XCTAssertNil(try? fm.destinationOfSymbolicLink(atPath: repo.appendingPathComponent("snapshots/\(HubFixtures.commitA)/model.safetensors").path))
    }

    func testNotFoundErrors() throws {
        assertHubError(["glimpse-test/absent", "gated or private, or does not exist", "HF_TOKEN"]) { try resolve("glimpse-test/absent") }
        assertHubError(["revision 'nope' not found"]) { try resolve("glimpse-test/clip-tiny@nope") }
        var noConfig = try HubFixtures.clipTinyRepo()
        noConfig.commits[HubFixtures.commitA]?["config.json"] = nil
        hub.add("glimpse-test/no-config", noConfig)
        assertHubError(["glimpse-test/no-config", "has no config.json"]) { try resolve("glimpse-test/no-config") }
        var noWeights = try HubFixtures.clipTinyRepo()
        for name in ["model.safetensors", "pytorch_model.bin"] { noWeights.commits[HubFixtures.commitA]?[name] = nil }
        hub.add("glimpse-test/no-weights", noWeights)
        assertHubError(["none of the weights", "model.safetensors", "pytorch_model.bin"]) { try resolve("glimpse-test/no-weights") }
    }

    /// A sharded checkpoint: the index, then every shard it names.
    func testShardedWeights() throws {
        hub.add("glimpse-test/sharded", FakeHub.Repo(commits: [HubFixtures.commitB: try HubFixtures.files("clip-tiny-variant")],
                                                     branches: ["main": HubFixtures.commitB]))
        let checkpoint = try resolve("glimpse-test/sharded")
        let names = Set(try fm.contentsOfDirectory(atPath: checkpoint.folder.path))
        XCTAssertEqual(names, Set(try HubFixtures.files("clip-tiny-variant").keys))
        XCTAssertEqual(try checkpoint.weights().entries.count, 94)
    }

    /// No safetensors: the PyTorch file is fetched instead.
    func testFallsBackToPytorchBin() throws {
        var repo = try HubFixtures.clipTinyRepo()
        repo.commits[HubFixtures.commitA]?["model.safetensors"] = nil
        hub.add("glimpse-test/bin-only", repo)
        let checkpoint = try resolve("glimpse-test/bin-only")
        XCTAssertTrue(checkpoint.exists("pytorch_model.bin"))
        XCTAssertFalse(checkpoint.exists("model.safetensors"))
        XCTAssertTrue(fm.fileExists(atPath: cache.appendingPathComponent("models--glimpse-test--bin-only/.no_exist/\(HubFixtures.commitA)/model.safetensors").path))
    }
}
