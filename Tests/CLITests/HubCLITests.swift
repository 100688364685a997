import Crypto
import Foundation
import XCTest

/// `--model ORG/NAME` against a Hugging Face cache laid out as Python leaves it, with the
/// network off or unreachable; `glimpse models` and `glimpse inspect`. Expected numbers come
/// from transformers (logits) and the safetensors library (parameter count), not from Glimpse.
final class HubCLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let commit = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
    let fm = FileManager.default
    var home: URL!
    var cache: URL { home.appendingPathComponent(".cache/huggingface/hub") }
    func image(_ name: String) -> String { Self.fixtures.appendingPathComponent("images/\(name)").path }

    override func setUpWithError() throws {
        home = fm.temporaryDirectory.appendingPathComponent("hub-cli-\(UUID().uuidString)")
        try writePythonCache(root: cache)
    }

    override func tearDown() { try? fm.removeItem(at: home) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 { digest.map { String(format: "%02x", $0) }.joined() }

    /// blobs/<sha256> for LFS files, blobs/<git blob id> for the rest; relative snapshot
    /// symlinks; refs/main holding the bare commit — huggingface_hub's layout.
    func writePythonCache(root: URL, fixture: String = "clip-tiny", from folder: URL? = nil) throws {
        let repo = root.appendingPathComponent("models--glimpse-test--\(fixture)")
        let source = folder ?? Self.fixtures.appendingPathComponent(fixture)
        try fm.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try fm.createDirectory(at: repo.appendingPathComponent("snapshots/\(Self.commit)"), withIntermediateDirectories: true)
        try fm.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: source.path) where !name.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: source.appendingPathComponent(name).path, isDirectory: &isDirectory), isDirectory.boolValue { continue }
            let data = try Data(contentsOf: source.appendingPathComponent(name))
            let lfs = name.hasSuffix(".safetensors") || name.hasSuffix(".gz")
            let etag = lfs ? Self.hex(SHA256.hash(data: data)) : Self.hex(Insecure.SHA1.hash(data: Data("blob \(data.count)\0".utf8) + data))
            try data.write(to: repo.appendingPathComponent("blobs/\(etag)"))
            try fm.createSymbolicLink(atPath: repo.appendingPathComponent("snapshots/\(Self.commit)/\(name)").path,
                                      withDestinationPath: "../../blobs/\(etag)")
        }
        try Data(Self.commit.utf8).write(to: repo.appendingPathComponent("refs/main"))
    }

    func glimpse(_ arguments: [String], environment: [String: String]) throws -> CLITests.Result {
        // Hermetic: none of the caller's Hugging Face settings, and a home of our own.
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") && !$0.key.hasPrefix("HUGGING") && $0.key != "XDG_CACHE_HOME" }
        env["HOME"] = home.path
        return try CLITests.execute(arguments, environment: env.merging(environment) { $1 })
    }

    /// A user with a Python cache runs classify on a Hub id: no download, same logits as transformers.
    func testClassifyFromPythonCacheWithoutNetwork() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("clip/clip-tiny.json"))
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let expected = try XCTUnwrap(ref["logits_per_image"] as? [Double])
        let images = try XCTUnwrap(ref["images"] as? [String]).map(image)
        let settings: [[String: String]] = [
            ["HF_HUB_OFFLINE": "1"],                                // default cache under HOME
            ["HF_ENDPOINT": "http://127.0.0.1:1"],                  // online, but the Hub cannot be reached
            ["HF_HOME": home.appendingPathComponent(".cache/huggingface").path, "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": "/nonexistent"],
            ["HF_HUB_CACHE": cache.path, "HF_HOME": "/nonexistent", "HF_HUB_OFFLINE": "1"],
        ]
        for environment in settings {
            let result = try glimpse(["classify", "--model", "glimpse-test/clip-tiny"] + images + ["--labels"] + texts + ["--template", "{}"],
                                     environment: environment)
            XCTAssertEqual(result.status, 0, "\(environment): \(result.stderr)")
            XCTAssertEqual(result.stderr, "", "no download progress: nothing was downloaded")
            XCTAssertEqual(result.lines.count, images.count)
            var maxError = 0.0
            for (i, line) in result.lines.enumerated() {
                for entry in line["labels"] as? [[String: Any]] ?? [] {
                    let j = try XCTUnwrap(texts.firstIndex(of: try XCTUnwrap(entry["label"] as? String)))
                    let logit = try XCTUnwrap((entry["logit"] as? NSNumber)?.doubleValue)
                    maxError = max(maxError, abs(logit - expected[i * texts.count + j]))
                }
            }
            print("classify --model glimpse-test/clip-tiny (\(environment.keys.sorted())): max abs logit error \(maxError)")
            XCTAssertLessThan(maxError, 1e-4)
        }
        let tokens = try glimpse(["tokenize", "--model", "glimpse-test/clip-tiny@\(Self.commit)", texts[0]], environment: ["HF_HUB_OFFLINE": "1"])
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
        XCTAssertEqual(tokens.lines.first?["ids"] as? [Int], (ref["ids"] as? [[Int]])?.first)
    }

    func testModelsListsTheCache() throws {
        let result = try glimpse(["models"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = try XCTUnwrap(result.lines.first)
        XCTAssertEqual(result.lines.count, 1)
        XCTAssertEqual(line["model"] as? String, "glimpse-test/clip-tiny")
        XCTAssertEqual(line["architecture"] as? String, "CLIPModel")
        XCTAssertEqual(line["model_type"] as? String, "clip")
        let revisions = try XCTUnwrap(line["revisions"] as? [[String: Any]])
        XCTAssertEqual(revisions.first?["commit"] as? String, Self.commit)
        XCTAssertEqual(revisions.first?["refs"] as? [String], ["main"])
        let sizes = try fm.contentsOfDirectory(atPath: Self.fixtures.appendingPathComponent("clip-tiny").path).map {
            try Data(contentsOf: Self.fixtures.appendingPathComponent("clip-tiny/\($0)")).count
        }
        XCTAssertEqual(line["size"] as? Int, sizes.reduce(0, +))

        let table = try glimpse(["models", "--format", "table"], environment: ["HF_HUB_CACHE": cache.path])
        XCTAssertTrue(table.stdout.contains("glimpse-test/clip-tiny") && table.stdout.contains("1a2b3c4 (main)") && table.stdout.contains("3.0 MB"), table.stdout)
        let empty = try glimpse(["models"], environment: ["HF_HUB_CACHE": home.appendingPathComponent("none").path])
        XCTAssertEqual(empty.status, 0, empty.stderr)
        XCTAssertEqual(empty.stdout, "")
    }

    /// A mistyped --cache is an error, not an empty list; an empty cache says so and succeeds.
    func testModelsCacheFolderMustExist() throws {
        let missing = home.appendingPathComponent("no-such-cache").path
        let result = try glimpse(["models", "--cache", missing], environment: [:])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("cache folder") && result.stderr.contains("not found") && result.stderr.contains(missing), result.stderr)
        XCTAssertEqual(result.stdout, "")

        let empty = home.appendingPathComponent("empty-cache")
        try fm.createDirectory(at: empty, withIntermediateDirectories: true)
        let none = try glimpse(["models", "--cache", empty.path], environment: [:])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertEqual(none.stdout, "")
        XCTAssertTrue(none.stderr.contains("no models in the cache folder \(empty.path)"), none.stderr)
    }

    func testInspect() throws {
        for model in ["glimpse-test/clip-tiny", Self.fixtures.appendingPathComponent("clip-tiny").path] {
            let result = try glimpse(["inspect", "--model", model], environment: ["HF_HUB_OFFLINE": "1"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let info = try XCTUnwrap(result.lines.first)
            XCTAssertEqual(info["architecture"] as? String, "CLIPModel")
            // Counted with the safetensors library: sum of numel over the 78 tensors.
            XCTAssertEqual(info["parameters"] as? Int, 824_971)
            XCTAssertEqual(info["tensors"] as? Int, 78)
            XCTAssertEqual(info["dtypes"] as? [String: Int], ["F16": 824_971])
            let files = try XCTUnwrap(info["files"] as? [[String: Any]])
            XCTAssertEqual(files.compactMap { $0["name"] as? String },
                           ["bpe_simple_vocab_16e6.txt.gz", "config.json", "model.safetensors", "preprocessor_config.json"])
            XCTAssertEqual(files.first { $0["name"] as? String == "model.safetensors" }?["size"] as? Int, 1_658_662)
            let preprocessing = try XCTUnwrap(info["preprocessing"] as? [String: Any])
            XCTAssertEqual(preprocessing["resize"] as? [String: Int], ["shortest_edge": 64])
            XCTAssertEqual(preprocessing["crop"] as? [String: Int], ["height": 64, "width": 64])
            XCTAssertEqual(preprocessing["mean"] as? [Double], [0.48145466, 0.4578275, 0.40821073])
            XCTAssertEqual(preprocessing["std"] as? [Double], [0.26862954, 0.26130258, 0.27577711])
            XCTAssertEqual(preprocessing["resample"] as? String, "bicubic")
            let tokenizer = try XCTUnwrap(info["tokenizer"] as? [String: Any])
            XCTAssertEqual(tokenizer["files"] as? [String], ["bpe_simple_vocab_16e6.txt.gz"])
            XCTAssertEqual(tokenizer["vocab_size"] as? Int, 49408)
            XCTAssertEqual(info["problems"] as? [String], [])
        }
        let table = try glimpse(["inspect", "--model", "glimpse-test/clip-tiny", "--format", "table"], environment: ["HF_HUB_OFFLINE": "1"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("824971 (0.8M)") && table.stdout.contains("center crop 64×64"), table.stdout)
    }

    func testHubErrorsAreClear() throws {
        let cases: [([String], [String: String], String)] = [
            (["classify", "--model", "glimpse-test/absent", image("chelsea.png"), "--labels", "a"], ["HF_HUB_OFFLINE": "1"], "HF_HUB_OFFLINE"),
            (["embed", "--model", "glimpse-test/absent", "--text", "a"], ["HF_ENDPOINT": "http://127.0.0.1:1"], "cannot reach http://127.0.0.1:1"),
            (["inspect", "--model", "glimpse-test/clip-tiny@v9"], ["HF_HUB_OFFLINE": "1"], "not in the cache"),
            (["tokenize", "--model", "no-such-folder", "a"], [:], "model folder not found"),
        ]
        for (arguments, environment, fragment) in cases {
            let result = try glimpse(arguments, environment: environment)
            XCTAssertNotEqual(result.status, 0, "\(arguments) should fail")
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): stderr should mention \(fragment): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
    }
}
