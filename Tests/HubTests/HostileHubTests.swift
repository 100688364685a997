import Foundation
import Glimpse
import NIOCore
import XCTest

/// A server that lies: headers that name paths, sizes it does not keep, bodies without end,
/// bytes that trickle, messages that echo the token. Each must end in a clear error, with
/// nothing written outside the cache and nothing kept that broke a rule.
final class HostileHubTests: XCTestCase {
    var hub: FakeHub!
    /// The cache is `outer/cache`, so an escape to `outer` can be seen.
    var outer: URL!
    var cache: URL { outer.appendingPathComponent("cache") }
    let fm = FileManager.default
    let model = "glimpse-test/hostile"

    override func setUpWithError() throws {
        hub = FakeHub()
        try hub.start()
        outer = try HubFixtures.temporaryFolder("hostile")
        try fm.createDirectory(at: cache, withIntermediateDirectories: true)
    }

    override func tearDown() {
        hub.stop()
        try? fm.removeItem(at: outer)
    }

    /// clip-tiny served with `tamper` rewriting the replies.
    func serve(token: String? = nil, _ tamper: @escaping (String, FakeHub.Request, inout FakeHub.Reply) -> Void) throws {
        var repo = try HubFixtures.clipTinyRepo()
        repo.token = token
        repo.tamper = tamper
        hub.add(model, repo)
    }

    func environment(token: String? = nil, rate: Double = 8192, grace: Double = 30, deadline: Double? = nil, idle: Double = 5) -> HubEnvironment {
        HubEnvironment(cache: cache, endpoint: hub.endpoint, token: token, metadataTimeout: 5, downloadTimeout: idle,
                       downloadRetries: 3, retryDelay: 0.05, minimumDownloadRate: rate, downloadGrace: grace, downloadDeadline: deadline)
    }

    func failure(_ environment: HubEnvironment? = nil, file: StaticString = #filePath, line: UInt = #line) -> HubFailure? {
        do {
            _ = try ModelLocator.resolve(model, environment: environment ?? self.environment())
            XCTFail("expected a Hub failure", file: file, line: line)
        } catch GlimpseError.hub(let failure) {
            return failure
        } catch {
            XCTFail("not a Hub failure: \(error)", file: file, line: line)
        }
        return nil
    }

    func assertRefused(_ failure: HubFailure?, mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        guard let failure else { return }
        guard case .refused = failure.reason else { return XCTFail("not refused: \(failure)", file: file, line: line) }
        for fragment in fragments {
            XCTAssertTrue(failure.description.contains(fragment), "'\(failure)' should mention '\(fragment)'", file: file, line: line)
        }
    }

    /// Every regular file and symlink under the cache, relative paths.
    func cacheEntries() -> [String] {
        var entries: [String] = []
        if let walker = fm.enumerator(atPath: cache.path) {
            while let path = walker.nextObject() as? String {
                let attributes = try? fm.attributesOfItem(atPath: cache.appendingPathComponent(path).path)
                if attributes?[.type] as? FileAttributeType != .typeDirectory { entries.append(path) }
            }
        }
        return entries.sorted()
    }

    /// Nothing of the model's was kept: no blob, partial file, snapshot entry or ref.
    func assertNothingKept(file: StaticString = #filePath, line: UInt = #line) {
        let kept = cacheEntries().filter { $0.hasPrefix("models--") }
        XCTAssertEqual(kept, [], file: file, line: line)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: outer.path), ["cache"], "nothing outside the cache", file: file, line: line)
    }

    func testRepoCommitThatIsAPathIsRefused() throws {
        try serve { _, _, reply in reply.set("X-Repo-Commit", "../../../escaped") }
        assertRefused(failure(), mentions: ["X-Repo-Commit", "../../../escaped", "40 lowercase hex digits", "config.json"])
        assertNothingKept()
    }

    /// The optional files are absent: their 404s carry the bad commit, which once named the
    /// `.no_exist` marker's folder.
    func testRepoCommitOnNotFoundRepliesIsRefused() throws {
        try serve { _, _, reply in
            if reply.status == .notFound { reply.set("X-Repo-Commit", "../../../escaped404") }
        }
        assertRefused(failure(), mentions: ["X-Repo-Commit", "escaped404"])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: outer.path), ["cache"], "nothing outside the cache")
        XCTAssertFalse(cacheEntries().contains { $0.contains("refs/") }, "no ref to a commit whose files did not all arrive")
    }

    /// A folder inside the repository that is a link out of it is not written through.
    func testNoWriteThroughALinkOutOfTheRepository() throws {
        try serve { _, _, _ in }
        let elsewhere = outer.appendingPathComponent("elsewhere")
        try fm.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let repo = cache.appendingPathComponent("models--glimpse-test--hostile")
        try fm.createDirectory(at: repo, withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: repo.appendingPathComponent("snapshots"), withDestinationURL: elsewhere)
        let failure = failure()
        guard case .cacheNotWritable? = failure?.reason else { return XCTFail("\(String(describing: failure))") }
        XCTAssertTrue(failure?.description.contains("link out of") == true, "\(String(describing: failure))")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: elsewhere.path), [])
    }

    func testETagThatIsNoHashIsRefused() throws {
        try serve { file, _, reply in if file == "config.json" { reply.set("ETag", "\"not-a-sha\"") } }
        assertRefused(failure(), mentions: ["ETag", "not-a-sha", "sha1 or sha256"])
        try serve { file, _, reply in if file == "model.safetensors" { reply.set("X-Linked-Etag", "\"../../blobs/x\"") } }
        assertRefused(failure(), mentions: ["X-Linked-Etag"])
        XCTAssertFalse(cacheEntries().contains { $0.contains("blobs/x") || $0.contains("blobs/not-a-sha") })
    }

    func testUserGivenRevisionsAndFileNamesAreChecked() throws {
        for revision in [".", "a/./b", "a/../b", "a//b", "x\u{0}y", "bad\nref", "..", "/main", "main/"] {
            XCTAssertThrowsError(try HubModelID(repo: "a/b", revision: revision), revision.debugDescription)
        }
        XCTAssertNoThrow(try HubModelID(repo: "a/b", revision: "refs/pr/1"))
        try serve { _, _, _ in }
        let escaping = ModelFiles(required: ["../../outside.json"])
        XCTAssertThrowsError(try ModelLocator.resolve(model, files: escaping, environment: environment()))
        XCTAssertTrue(hub.requests.isEmpty, "refused before asking")
    }

    func testRedirectOffHTTPIsRefused() throws {
        try serve { file, _, reply in if file == "model.safetensors" { reply.set("Location", "file:///etc/passwd") } }
        assertRefused(failure(), mentions: ["Location", "file:///etc/passwd", "http(s)"])
    }

    /// A declared size over the limit for its kind is refused before any byte is fetched.
    func testDeclaredSizeOverTheLimitIsRefusedBeforeDownloading() throws {
        try serve { file, _, reply in if file == "model.safetensors" { reply.set("X-Linked-Size", "99999999999999") } }
        assertRefused(failure(), mentions: ["X-Linked-Size", "99999999999999", "limit", "weights file"])
        XCTAssertFalse(hub.requests.contains { $0.path.hasPrefix("/cdn/") && $0.method == "GET" })

        try serve { file, _, reply in if file == "config.json" { reply.set("Content-Length", "\(Limits.configFileBytes + 1)") } }
        assertRefused(failure(), mentions: ["Content-Length", "\(Limits.configFileBytes)", "JSON configuration"])
        for bad in ["-5", "+5", "1e3", "12 34"] {
            try serve { file, _, reply in if file == "model.safetensors" { reply.set("X-Linked-Size", bad) } }
            assertRefused(failure(), mentions: ["X-Linked-Size", "not a size"])
        }
    }

    /// `config.json` with no declared size streams 1 GB: the download stops at the limit for
    /// a config file and nothing stays in the cache.
    func testUndeclaredSizeIsCappedByKind() throws {
        try serve { file, request, reply in
            guard file == "config.json" else { return }
            reply.set("Content-Length", nil)
            reply.declareLength = false
            if request.method == "GET" { reply.stream = (count: 1 << 30, chunk: 1 << 20, every: .zero) }
        }
        let started = Date()
        assertRefused(failure(), mentions: ["no size was declared", "\(Limits.configFileBytes) bytes", "JSON configuration"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        assertNothingKept()
    }

    /// More bytes than declared: stopped at the declared size, not after the stream ends.
    func testMoreBytesThanDeclaredIsAnError() throws {
        final class Most: @unchecked Sendable { let lock = NSLock(); var value: Int64 = 0 }
        let most = Most()
        try serve { file, request, reply in
            guard file == "config.json" else { return }
            reply.set("Content-Length", request.method == "HEAD" ? "100" : nil)
            reply.declareLength = request.method == "HEAD"
            if request.method == "GET" { reply.stream = (count: 10 << 20, chunk: 1 << 16, every: .zero) }
        }
        do {
            _ = try ModelLocator.resolve(model, environment: environment(), progress: { event in
                most.lock.withLock { most.value = max(most.value, event.received) }
            })
            XCTFail("expected an error")
        } catch GlimpseError.hub(let failure) {
            assertRefused(failure, mentions: ["more than the 100 bytes it declared"])
        }
        XCTAssertLessThanOrEqual(most.value, 100)
        assertNothingKept()
    }

    /// One byte every 200 ms never trips the idle timeout; the minimum average rate stops it.
    func testTricklingServerIsStoppedByTheMinimumRate() throws {
        try serve { file, request, reply in
            guard file == "config.json", request.method == "GET" else { return }
            reply.stream = (count: 300, chunk: 1, every: .milliseconds(200))
        }
        let started = Date()
        let failure = failure(environment(rate: 1000, grace: 1, idle: 1))
        let elapsed = Date().timeIntervalSince(started)
        guard case .tooSlow = failure?.reason else { return XCTFail("not too slow: \(String(describing: failure))") }
        XCTAssertTrue(failure?.description.contains("GLIMPSE_HUB_MIN_RATE") == true, "\(String(describing: failure))")
        XCTAssertLessThan(elapsed, 6, "stopped soon after the grace period")
    }

    /// With the rate rule off, the overall deadline still ends it.
    func testTricklingServerIsStoppedByTheDeadline() throws {
        try serve { file, request, reply in
            guard file == "config.json", request.method == "GET" else { return }
            reply.stream = (count: 300, chunk: 1, every: .milliseconds(200))
        }
        let started = Date()
        let failure = failure(environment(rate: 0, deadline: 1.5, idle: 1))
        guard case .tooSlow = failure?.reason else { return XCTFail("not too slow: \(String(describing: failure))") }
        XCTAssertTrue(failure?.description.contains("GLIMPSE_HUB_DOWNLOAD_DEADLINE") == true)
        XCTAssertLessThan(Date().timeIntervalSince(started), 6)
    }

    func testSettingsThatAreNotNumbersAreReported() {
        for (key, value) in [("GLIMPSE_HUB_MIN_RATE", "abc"), ("HF_HUB_DOWNLOAD_TIMEOUT", "-1"), ("GLIMPSE_HUB_DOWNLOAD_DEADLINE", "inf")] {
            let environment = HubEnvironment(environment: ["HOME": outer.path, "HF_HUB_CACHE": cache.path, key: value])
            XCTAssertThrowsError(try ModelLocator.resolve(model, environment: environment)) { error in
                XCTAssertTrue("\(error)".contains(key), "\(error)")
            }
        }
    }

    /// A server echoing the Authorization header (in its message, or in a header that ends
    /// up in an error) never gets the token printed.
    func testTokenNeverAppearsInErrors() throws {
        let token = "hf_SecretToken123"
        try serve(token: "hf_other") { _, request, reply in
            reply.set("X-Error-Message", "denied for \(request.headers["authorization"] ?? "nobody")")
        }
        let denied = failure(environment(token: token))
        XCTAssertNotNil(denied)
        XCTAssertFalse(denied?.description.contains(token) ?? true, "\(String(describing: denied))")
        XCTAssertTrue(denied?.description.contains("denied for Bearer ***") ?? false, "\(String(describing: denied))")

        try serve(token: token) { _, request, reply in reply.set("X-Repo-Commit", request.headers["authorization"]) }
        let refused = failure(environment(token: token))
        assertRefused(refused, mentions: ["X-Repo-Commit", "Bearer ***"])
        XCTAssertFalse(refused?.description.contains(token) ?? true)
    }
}
