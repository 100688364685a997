import Foundation
import Glimpse
import XCTest

/// Reuse of an existing cache (one written as Python writes it), offline mode, revisions,
/// and the environment variables that choose the cache, endpoint and token.
final class HubCacheTests: XCTestCase {
    let fm = FileManager.default
    var cache: URL!
    /// A port nothing listens on: every request is refused at once.
    let unreachable = "http://127.0.0.1:1"

    override func setUpWithError() throws { cache = try HubFixtures.temporaryFolder() }
    override func tearDown() { try? fm.removeItem(at: cache) }

    func writeClipTinyCache(commit: String = HubFixtures.commitA, refs: [String: String]? = nil) throws {
        try HubFixtures.writePythonCache(root: cache, repo: "glimpse-test/clip-tiny", commit: commit,
                                         files: try HubFixtures.files("clip-tiny"), refs: refs ?? ["main": commit],
                                         lfs: { $0.hasSuffix(".safetensors") || $0.hasSuffix(".gz") })
    }

    func snapshot(_ commit: String) -> String {
        cache.appendingPathComponent("models--glimpse-test--clip-tiny/snapshots/\(commit)").standardizedFileURL.path
    }

    /// A cache as Python leaves it serves the model with the network off, and with the Hub unreachable.
    func testPythonCacheReusedOfflineAndWhenUnreachable() throws {
        try writeClipTinyCache()
        for environment in [HubFixtures.environment(cache: cache, endpoint: unreachable, offline: true),
                            HubFixtures.environment(cache: cache, endpoint: unreachable)] {
            let checkpoint = try ModelLocator.resolve("glimpse-test/clip-tiny", environment: environment)
            XCTAssertEqual(checkpoint.folder.standardizedFileURL.path, snapshot(HubFixtures.commitA))
            let (texts, expected) = try HubFixtures.referenceTextEmbeddings()
            let embeddings = try CLIP(checkpoint: checkpoint).embed(texts: Array(texts.prefix(1)))
            for i in 0..<12 { XCTAssertEqual(Double(embeddings.data[i]), expected[i], accuracy: 1e-5) }
        }
    }

    /// With the cache complete, being online costs one HEAD (to learn where `main` points) and no download.
    func testWarmCacheOnlineAsksOnlyForTheCommit() throws {
        try writeClipTinyCache()
        let hub = FakeHub()
        hub.add("glimpse-test/clip-tiny", try HubFixtures.clipTinyRepo())
        try hub.start()
        defer { hub.stop() }
        // Python leaves no .no_exist markers for files it never asked for: those are asked once.
        _ = try ModelLocator.resolve("glimpse-test/clip-tiny", environment: HubFixtures.environment(cache: cache, endpoint: hub.endpoint))
        XCTAssertFalse(hub.requests.contains { $0.method == "GET" })
        hub.clearRequests()
        _ = try ModelLocator.resolve("glimpse-test/clip-tiny", environment: HubFixtures.environment(cache: cache, endpoint: hub.endpoint))
        XCTAssertEqual(hub.requests.map { "\($0.method) \($0.path)" }, ["HEAD /glimpse-test/clip-tiny/resolve/main/config.json"])
    }

    func testOfflineFailsClearlyWhenNotCached() throws {
        let offline = HubFixtures.environment(cache: cache, endpoint: unreachable, offline: true)
        assertHubError(["glimpse-test/clip-tiny", "not in the cache", "HF_HUB_OFFLINE"]) {
            try ModelLocator.resolve("glimpse-test/clip-tiny", environment: offline)
        }
        // In the cache but without weights.
        try HubFixtures.writePythonCache(root: cache, repo: "glimpse-test/partial", commit: HubFixtures.commitA,
                                         files: ["config.json": Data("{}".utf8)], refs: ["main": HubFixtures.commitA], lfs: { _ in false })
        assertHubError(["glimpse-test/partial", "weights (model.safetensors", "HF_HUB_OFFLINE"]) {
            try ModelLocator.resolve("glimpse-test/partial", environment: offline)
        }
        assertHubError(["cannot reach", unreachable, "config.json"]) {
            try ModelLocator.resolve("glimpse-test/clip-tiny", environment: HubFixtures.environment(cache: cache, endpoint: unreachable))
        }
    }

    /// `@branch` follows the branch (and records it in refs/); `@sha` pins a commit, and a
    /// complete snapshot of a commit needs no network at all.
    func testRevisionBranchAndCommit() throws {
        var repo = try HubFixtures.clipTinyRepo()
        var other = repo.commits[HubFixtures.commitA] ?? [:]
        other["preprocessor_config.json"] = Data(#"{"size": {"shortest_edge": 64}, "crop_size": 64, "image_mean": [0.5, 0.5, 0.5]}"#.utf8)
        repo.commits[HubFixtures.commitB] = other
        repo.branches["v2"] = HubFixtures.commitB
        repo.branches["refs/pr/1"] = HubFixtures.commitB
        let hub = FakeHub()
        hub.add("glimpse-test/clip-tiny", repo)
        try hub.start()
        let online = HubFixtures.environment(cache: cache, endpoint: hub.endpoint)

        let v2 = try ModelLocator.resolve("glimpse-test/clip-tiny@v2", environment: online)
        XCTAssertEqual(v2.folder.standardizedFileURL.path, snapshot(HubFixtures.commitB))
        XCTAssertTrue(try String(contentsOf: v2.file("preprocessor_config.json"), encoding: .utf8).contains("0.5, 0.5"))
        let refs = cache.appendingPathComponent("models--glimpse-test--clip-tiny/refs")
        XCTAssertEqual(try String(contentsOf: refs.appendingPathComponent("v2"), encoding: .utf8), HubFixtures.commitB)
        XCTAssertTrue(hub.requests.contains { $0.path == "/glimpse-test/clip-tiny/resolve/v2/config.json" })
        XCTAssertTrue(hub.requests.contains { $0.path == "/glimpse-test/clip-tiny/resolve/\(HubFixtures.commitB)/model.safetensors" },
                      "files after the first are asked for at the commit, so all come from one commit")

        // A revision with slashes travels as one URL segment and is stored as nested refs, as in Python.
        let pr = try ModelLocator.resolve("glimpse-test/clip-tiny@refs/pr/1", environment: online)
        XCTAssertEqual(pr.folder.standardizedFileURL.path, snapshot(HubFixtures.commitB))
        XCTAssertTrue(hub.requests.contains { $0.path == "/glimpse-test/clip-tiny/resolve/refs%2Fpr%2F1/config.json" })
        XCTAssertEqual(try String(contentsOf: refs.appendingPathComponent("refs/pr/1"), encoding: .utf8), HubFixtures.commitB)

        let pinned = try ModelLocator.resolve("glimpse-test/clip-tiny@\(HubFixtures.commitA)", environment: online)
        XCTAssertEqual(pinned.folder.standardizedFileURL.path, snapshot(HubFixtures.commitA))
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: refs.path).sorted(), ["refs", "v2"], "a commit hash is not a ref")
        let weights = cache.appendingPathComponent("models--glimpse-test--clip-tiny/blobs")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: weights.path).count, 5, "4 fixture files + one changed preprocessor config, shared blobs stored once")

        hub.stop()
        let again = try ModelLocator.resolve("glimpse-test/clip-tiny@\(HubFixtures.commitA)",
                                             environment: HubFixtures.environment(cache: cache, endpoint: hub.endpoint))
        XCTAssertEqual(again.folder.standardizedFileURL.path, snapshot(HubFixtures.commitA))
        let v2Offline = try ModelLocator.resolve("glimpse-test/clip-tiny@v2", environment: HubFixtures.environment(cache: cache, endpoint: unreachable, offline: true))
        XCTAssertEqual(v2Offline.folder.standardizedFileURL.path, snapshot(HubFixtures.commitB))
    }

    func testEnvironmentPrecedence() throws {
        let home = try HubFixtures.temporaryFolder("home")
        defer { try? fm.removeItem(at: home) }
        func env(_ values: [String: String]) -> HubEnvironment { HubEnvironment(environment: ["HOME": home.path].merging(values) { $1 }) }

        XCTAssertEqual(env([:]).cache.path, home.path + "/.cache/huggingface/hub")
        XCTAssertEqual(env(["XDG_CACHE_HOME": "/x"]).cache.path, "/x/huggingface/hub")
        XCTAssertEqual(env(["XDG_CACHE_HOME": "/x", "HF_HOME": "/h"]).cache.path, "/h/hub")
        XCTAssertEqual(env(["HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy"]).cache.path, "/legacy")
        XCTAssertEqual(env(["HF_HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/c"]).cache.path, "/c")
        XCTAssertEqual(env(["HF_HUB_CACHE": "~/models"]).cache.path, home.path + "/models")

        XCTAssertEqual(env([:]).endpoint, "https://huggingface.co")
        XCTAssertEqual(env(["HF_ENDPOINT": "https://mirror.example/"]).endpoint, "https://mirror.example")

        XCTAssertNil(env([:]).token)
        try fm.createDirectory(at: home.appendingPathComponent(".cache/huggingface"), withIntermediateDirectories: true)
        try "hf_from_login\n".write(to: home.appendingPathComponent(".cache/huggingface/token"), atomically: true, encoding: .utf8)
        XCTAssertEqual(env([:]).token, "hf_from_login")
        XCTAssertEqual(env(["HUGGING_FACE_HUB_TOKEN": "hf_legacy"]).token, "hf_legacy")
        XCTAssertEqual(env(["HUGGING_FACE_HUB_TOKEN": "hf_legacy", "HF_TOKEN": "hf_env"]).token, "hf_env")

        for (value, offline) in [("1", true), ("true", true), ("YES", true), ("on", true), ("0", false), ("", false)] {
            XCTAssertEqual(env(["HF_HUB_OFFLINE": value]).offline, offline, value)
        }
        XCTAssertTrue(env(["TRANSFORMERS_OFFLINE": "1"]).offline)
    }

    func testModelSpecs() throws {
        let folder = try HubFixtures.temporaryFolder("org")
        defer { try? fm.removeItem(at: folder) }
        XCTAssertEqual(ModelLocator.hubModel("openai/clip-vit-base-patch32"), try HubModelID(repo: "openai/clip-vit-base-patch32"))
        XCTAssertEqual(ModelLocator.hubModel("openai/clip-vit-base-patch32@refs/pr/1")?.revision, "refs/pr/1")
        XCTAssertEqual(ModelLocator.hubModel("a/b@\(HubFixtures.commitA)")?.isCommitHash, true)
        XCTAssertEqual(ModelLocator.hubModel("a/b")?.cacheFolderName, "models--a--b")
        for local in [folder.path, "./a/b", "a/b/c", "~/a", "name", "a//b", "a/b@", "-a/b", "a/b--c"] {
            XCTAssertNil(ModelLocator.hubModel(local), local)
        }
        // An existing folder spelled like a Hub id is the folder.
        let previous = fm.currentDirectoryPath
        defer { _ = fm.changeCurrentDirectoryPath(previous) }
        _ = fm.changeCurrentDirectoryPath(folder.path)
        try fm.createDirectory(atPath: "org/name", withIntermediateDirectories: true)
        XCTAssertNil(ModelLocator.hubModel("org/name"))
        XCTAssertNotNil(ModelLocator.hubModel("org/other"))
    }
}
