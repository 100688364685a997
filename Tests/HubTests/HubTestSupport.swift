import Foundation
import Glimpse
import XCTest

/// Shared set-up: the tiny CLIP fixture as a Hub repository, temporary caches, and a cache
/// written the way Python's huggingface_hub writes one.
enum HubFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let commitA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
    static let commitB = "b0b1b2b3b4b5b6b7b8b9c0c1c2c3c4c5c6c7c8c9"

    static func files(_ folder: String) throws -> [String: Data] {
        let url = root.appendingPathComponent(folder)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
            files[name] = try Data(contentsOf: url.appendingPathComponent(name))
        }
        return files
    }

    /// clip-tiny plus files a model must not cause to be fetched: other frameworks' weights, a README.
    static func clipTinyRepo() throws -> FakeHub.Repo {
        var files = try files("clip-tiny")
        files["pytorch_model.bin"] = Data(repeating: 7, count: 4096)
        files["flax_model.msgpack"] = Data(repeating: 9, count: 4096)
        files["README.md"] = Data("# clip-tiny\n".utf8)
        return FakeHub.Repo(commits: [commitA: files], branches: ["main": commitA])
    }

    static func temporaryFolder(_ name: String = "hub") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func environment(cache: URL, endpoint: String, token: String? = nil, offline: Bool = false) -> HubEnvironment {
        HubEnvironment(cache: cache, endpoint: endpoint, token: token, offline: offline,
                       metadataTimeout: 5, downloadTimeout: 5, downloadRetries: 3, retryDelay: 0.05)
    }

    /// Writes `models--ORG--NAME` as huggingface_hub does: blobs named by sha256 (LFS) or git
    /// blob id, snapshot entries as relative symlinks `../../blobs/<etag>`, refs without a newline.
    static func writePythonCache(root: URL, repo: String, commit: String, files: [String: Data],
                                 refs: [String: String], lfs: (String) -> Bool) throws {
        let fm = FileManager.default
        let folder = root.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
        try fm.createDirectory(at: folder.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        for (name, data) in files {
            let etag = lfs(name) ? FakeHub.sha256(data) : FakeHub.gitBlobID(data)
            try data.write(to: folder.appendingPathComponent("blobs/\(etag)"))
            let pointer = folder.appendingPathComponent("snapshots/\(commit)/\(name)")
            try fm.createDirectory(at: pointer.deletingLastPathComponent(), withIntermediateDirectories: true)
            let up = String(repeating: "../", count: name.split(separator: "/").count + 1)
            try fm.createSymbolicLink(atPath: pointer.path, withDestinationPath: "\(up)blobs/\(etag)")
        }
        for (ref, target) in refs {
            try fm.createDirectory(at: folder.appendingPathComponent("refs"), withIntermediateDirectories: true)
            try Data(target.utf8).write(to: folder.appendingPathComponent("refs/\(ref)"))
        }
    }

    /// The reference text embeddings from transformers (Tools/fixtures/make_clip_fixtures.py).
    static func referenceTextEmbeddings() throws -> (texts: [String], embeds: [Double]) {
        let data = try Data(contentsOf: root.appendingPathComponent("clip/clip-tiny.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try XCTUnwrap(json["texts"] as? [String]), try XCTUnwrap(json["text_embeds"] as? [Double]))
    }
}

extension XCTestCase {
    /// Runs `body` expecting a GlimpseError whose message contains every fragment.
    func assertHubError<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
        } catch {
            let message = String(describing: error)
            XCTAssertTrue(error is GlimpseError, "not a GlimpseError: \(error)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }
}
