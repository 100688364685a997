import Foundation
import XCTest

/// A small dataset for the bulk commands, built in a scratch folder from the committed test
/// images: a JSON Lines manifest with good records and hostile ones (a line that is not
/// JSON, a missing image, an image that is garbage, a truncated JPEG, a path escaping the
/// folder, a huge text), a WebDataset shard, and a shard whose last member is cut off.
final class BulkFixture {
    let root: String
    /// The good images of the manifest, in manifest order (absolute paths).
    private(set) var manifestImages: [String] = []
    /// Members of the good shard: key, image bytes, caption.
    private(set) var shardSamples: [(key: String, image: String, text: String)] = []

    static let images = ["cheetah.jpg", "grace_hopper.jpg", "lion.jpg", "horse.png", "hf-logo_transpng.png", "camera.png"]
    static let hugeText = String(repeating: "a very long caption ", count: 20_000)

    init(copies: Int = 1) throws {
        root = NSTemporaryDirectory() + "glimpse-bulk-cli-\(UUID().uuidString)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/data/images", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/shard", withIntermediateDirectories: true)
        for name in Self.images {
            try fm.copyItem(atPath: CLITests.fixtures.appendingPathComponent("images/\(name)").path, toPath: root + "/data/images/\(name)")
        }
        try Data((0 ..< 3000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(to: URL(fileURLWithPath: root + "/data/images/garbage.jpg"))
        let cheetah = try Data(contentsOf: URL(fileURLWithPath: root + "/data/images/cheetah.jpg"))
        try cheetah.prefix(2000).write(to: URL(fileURLWithPath: root + "/data/images/truncated.jpg"))

        var lines: [String] = []
        func line(_ image: String, _ text: String) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: ["image": image, "text": text, "id": lines.count], options: [.sortedKeys]), as: UTF8.self)
        }
        for copy in 0 ..< copies {
            for (i, name) in Self.images.enumerated() {
                lines.append(line("images/\(name)", "photo \(i) copy \(copy)"))
                manifestImages.append(root + "/data/images/\(name)")
                if i == 1 { lines.append("{\"image\": \"images/cheetah.jpg\", \"text\": broken json") }
                if i == 2 { lines.append(line("images/missing.jpg", "no such file")) }
                if i == 3 { lines.append(line("images/garbage.jpg", "garbage bytes")) }
                if i == 4 { lines.append(line("../../../../../../../../etc/hostname", "escapes the folder")) }
            }
            lines.append(line("images/truncated.jpg", "cut off"))
            lines.append(line("images/lion.jpg", Self.hugeText))
            manifestImages.append(root + "/data/images/lion.jpg")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: manifestPath, atomically: true, encoding: .utf8)

        for (i, name) in ["lion.jpg", "horse.png", "cheetah.jpg"].enumerated() {
            let key = "sample\(i)"
            let ext = (name as NSString).pathExtension
            try fm.copyItem(atPath: root + "/data/images/\(name)", toPath: root + "/shard/\(key).\(ext)")
            try "shard caption \(i)".write(toFile: root + "/shard/\(key).txt", atomically: true, encoding: .utf8)
            shardSamples.append((key, root + "/data/images/\(name)", "shard caption \(i)"))
        }
        try tar(root + "/data/shard.tar", members: shardSamples.enumerated().flatMap { i, s in
            let ext = (s.image as NSString).pathExtension
            return ["\(s.key).\(ext)", "\(s.key).txt"]
        })
        // A shard cut in the middle of its second image (cheetah.jpg, 52 KB): the first sample is read, the rest is one failure.
        try tar(root + "/data/broken-full.tar", members: ["sample0.jpg", "sample0.txt", "sample2.jpg", "sample2.txt"])
        let full = try Data(contentsOf: URL(fileURLWithPath: root + "/data/broken-full.tar"))
        try full.prefix(full.count - 30_000).write(to: URL(fileURLWithPath: root + "/data/broken.tar"))
        try fm.removeItem(atPath: root + "/data/broken-full.tar")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var manifestPath: String { root + "/data/manifest.jsonl" }
    var shardPath: String { root + "/data/shard.tar" }
    var brokenShardPath: String { root + "/data/broken.tar" }
    var inputs: [String] { [manifestPath, shardPath, brokenShardPath] }

    private func tar(_ path: String, members: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "--format=ustar", "-cf", path, "-C", root + "/shard"] + members
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "tar")
    }
}

/// A bulk embedding output folder read back: the rows of every chunk in order.
struct EmbeddingFolder {
    var images: [[Float]] = []
    var texts: [[Float]] = []
    var metadata: [[String: Any]] = []
    var metadataLines: [String] = []
    var errors: [String] = []
    var chunks = 0

    init(_ folder: String) throws {
        let fm = FileManager.default
        while fm.fileExists(atPath: "\(folder)/metadata/metadata_\(chunks).jsonl") {
            let k = chunks
            let lines = try String(contentsOfFile: "\(folder)/metadata/metadata_\(k).jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
            metadataLines += lines
            metadata += try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            if fm.fileExists(atPath: "\(folder)/img_emb/img_emb_\(k).npy") {
                let rows = try Self.npy("\(folder)/img_emb/img_emb_\(k).npy")
                XCTAssertEqual(rows.count, lines.count, "image rows of chunk \(k)")
                images += rows
            }
            if fm.fileExists(atPath: "\(folder)/text_emb/text_emb_\(k).npy") {
                let rows = try Self.npy("\(folder)/text_emb/text_emb_\(k).npy")
                XCTAssertEqual(rows.count, lines.count, "text rows of chunk \(k)")
                texts += rows
            }
            chunks += 1
        }
        if let text = try? String(contentsOfFile: "\(folder)/errors.jsonl", encoding: .utf8) {
            errors = text.split(separator: "\n").map(String.init)
        }
    }

    /// A float32 [n, d] .npy, read by an independent minimal parser of the format.
    static func npy(_ path: String) throws -> [[Float]] {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(data.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10 ..< 10 + headerLength], as: UTF8.self)
        XCTAssertTrue(header.contains("'descr': '<f4'"), header)
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let shape = header.split(separator: "(")[1].split(separator: ")")[0].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = Array(data[(10 + headerLength)...])
        let floats = stride(from: 0, to: body.count, by: 4).map {
            Float(bitPattern: UInt32(body[$0]) | UInt32(body[$0 + 1]) << 8 | UInt32(body[$0 + 2]) << 16 | UInt32(body[$0 + 3]) << 24)
        }
        XCTAssertEqual(floats.count, shape[0] * shape[1])
        return (0 ..< shape[0]).map { Array(floats[$0 * shape[1] ..< ($0 + 1) * shape[1]]) }
    }
}

extension CLITests {
    /// The built binary, as `execute` finds it.
    static var executable: URL {
        #if os(macOS)
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("glimpse")
        }
        #endif
        return Bundle.main.bundleURL.appendingPathComponent("glimpse")
    }

    /// Runs the binary with `input` on its standard input.
    static func execute(_ arguments: [String], input: String) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let inPipe = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = inPipe
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let writer = Thread {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        let errors = Background { err.fileHandleForReading.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: errors.value, as: UTF8.self))
    }

    /// Starts the binary without waiting; output goes to files in `folder`.
    static func start(_ arguments: [String], logs folder: String) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        FileManager.default.createFile(atPath: folder + "/stdout.log", contents: nil)
        FileManager.default.createFile(atPath: folder + "/stderr.log", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/stdout.log"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/stderr.log"))
        try process.run()
        return process
    }
}

/// Reads a pipe on another thread (so two pipes cannot block each other).
final class Background: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result = Data()
    init(_ work: @escaping @Sendable () -> Data) {
        Thread { [self] in result = work(); done.signal() }.start()
    }
    var value: Data { done.wait(); done.signal(); return result }
}
