import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Commands given many inputs, some of them bad (not an image, missing, a directory, a text
/// too long): each bad input is reported on standard error with its name and the reason,
/// every good one still gets its output line in input order, and the exit status is 1;
/// `--fail-fast` stops at the first bad one. Peak memory stays at one decoded image.
final class HostileBatchCLITests: XCTestCase {
    let fixtures = CLITests.fixtures
    var good1: String { fixtures.appendingPathComponent("images/chelsea.png").path }
    var good2: String { fixtures.appendingPathComponent("images/cheetah.jpg").path }
    func model(_ name: String) -> String { fixtures.appendingPathComponent(name).path }
    var dir: URL!
    var corrupt: String { dir.appendingPathComponent("corrupt.jpg").path }
    var missing: String { dir.appendingPathComponent("missing.png").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("GIF? no: just text pretending to be a JPEG".utf8).write(to: dir.appendingPathComponent("corrupt.jpg"))
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func run(_ arguments: [String]) throws -> CLITests.Result { try CLITests.execute(arguments) }

    /// Good, bad, good, missing, directory: the good ones print in order; each bad one is named
    /// on stderr. `command` ends where the images go (after `--`, or after `--image`).
    func assertBadImagesCostNothing(_ command: [String], key: String = "image", perImage: Int = 1,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let inputs = [good1, corrupt, good2, missing, dir.path]
        func printed(_ result: CLITests.Result) -> [String] { result.lines.compactMap { $0[key] as? String }.filter(inputs.contains) }
        let result = try run(command + inputs)
        XCTAssertEqual(result.status, 1, "\(command[0]): exit 1 when an input failed", file: file, line: line)
        let expected = [good1, good2].flatMap { Array(repeating: $0, count: perImage) }
        XCTAssertEqual(printed(result), expected, "\(command[0]): \(result.stderr)", file: file, line: line)
        for bad in [corrupt, missing, dir.path] {
            XCTAssertTrue(result.stderr.contains(bad), "\(command[0]) should name \(bad): \(result.stderr)", file: file, line: line)
        }
        XCTAssertTrue(result.stderr.contains("not a JPEG or PNG"), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains("glimpse: error: 3 of "), result.stderr, file: file, line: line)

        let fast = try run([command[0], "--fail-fast"] + command.dropFirst() + inputs)
        XCTAssertEqual(fast.status, 1, file: file, line: line)
        XCTAssertEqual(printed(fast), Array(repeating: good1, count: perImage),
                       "\(command[0]) --fail-fast stops at the first bad input", file: file, line: line)
        XCTAssertTrue(fast.stderr.contains(corrupt) && !fast.stderr.contains(missing), fast.stderr, file: file, line: line)
    }

    func testClassifyReportsBadImagesAndKeepsTheRest() throws {
        try assertBadImagesCostNothing(["classify", "--model", model("clip-tiny"), "--labels", "a cat", "a dog", "--"])
    }

    func testEmbedReportsBadImagesAndTextsAndKeepsTheRest() throws {
        try assertBadImagesCostNothing(["embed", "--model", model("clip-tiny"), "--text", "a cat", "--image"], key: "input")
        let long = Array(repeating: "word", count: 200).joined(separator: " ")
        let result = try run(["embed", "--model", model("clip-tiny"), "--text", "a cat", long, "a dog"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.lines.compactMap { $0["input"] as? String }, ["a cat", "a dog"])
        XCTAssertTrue(result.stderr.contains("text 2") && result.stderr.contains("longer than the context"), result.stderr)
        XCTAssertEqual(try run(["embed", "--model", model("clip-tiny"), "--truncate", "--text", "a cat", long]).status, 0)
    }

    func testCaptionReportsBadImagesAndKeepsTheRest() throws {
        try assertBadImagesCostNothing(["caption", "--model", model("blip-caption-tiny"), "--max-new-tokens", "3", "--"])
    }

    func testMatchReportsBadImagesAndKeepsTheRest() throws {
        try assertBadImagesCostNothing(["match", "--model", model("blip-itm-tiny"), "--text", "a cat", "a dog", "--"], perImage: 2)
    }

    func testDetectReportsBadImagesAndKeepsTheRest() throws {
        try assertBadImagesCostNothing(["detect", "--model", model("owlvit-tiny"), "--query", "a cat", "--"])
        let drawn = dir.appendingPathComponent("drawn")
        let result = try run(["detect", "--model", model("owlvit-tiny"), "--query", "a cat", "--draw-dir", drawn.path, "--", corrupt, good1])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: drawn.path), ["chelsea.png"])
        let badQuery = try run(["detect", "--model", model("owlvit-tiny"), "--query-image", corrupt, "--", good1])
        XCTAssertEqual(badQuery.status, 1, "a bad query image fails the command: it would change every result")
        XCTAssertTrue(badQuery.stderr.contains(corrupt), badQuery.stderr)
        XCTAssertEqual(badQuery.stdout, "")
    }

    /// Peak memory of a run on four large PNGs is that of a run on one: the images are decoded
    /// one at a time, not a batch at once (four would add three decoded images, 3 × 12 MB).
    func testPeakMemoryIsOneDecodedImageNotABatch() throws {
        // AddressSanitizer holds freed memory in quarantine, so peak RSS then says nothing
        // about how many images were decoded at once (CI runs these tests under it too).
        try XCTSkipIf(dlsym(nil, "__asan_init") != nil,
                      "peak RSS is not meaningful under AddressSanitizer")
        let png = dir.appendingPathComponent("large.png")
        let (width, height) = (2000, 2000)
        try Self.storedPNG(width: width, height: height).write(to: png)
        let decoded = width * height * 3
        let one = try Self.peakRSS(["classify", "--model", model("clip-tiny"), "--labels", "a", "b", "--", png.path])
        let four = try Self.peakRSS(["classify", "--model", model("clip-tiny"), "--labels", "a", "b", "--"]
                                   + Array(repeating: png.path, count: 4))
        print("peak RSS: one large image \(one / 1_000_000) MB, four \(four / 1_000_000) MB")
        XCTAssertLessThan(four - one, decoded, "four images must not be held decoded at once")
    }

    /// Peak resident bytes of one run of the built binary (wait4's rusage for that child alone).
    static func peakRSS(_ arguments: [String]) throws -> Int {
        let executable = Bundle.main.bundleURL.appendingPathComponent("glimpse").path
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else {
            throw XCTSkip("cannot spawn \(executable)")
        }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid else { throw XCTSkip("wait4 failed") }
        XCTAssertEqual(status, 0, "glimpse \(arguments.prefix(3)) failed")
        return usage.ru_maxrss * 1024
    }

    /// A black RGB PNG with uncompressed (stored) deflate blocks, one IDAT chunk per block:
    /// large decoded and on disk, quick to write (the identical chunks share one CRC).
    static func storedPNG(width: Int, height: Int) -> Data {
        let count = (width * 3 + 1) * height  // filter byte 0 and zero pixels on every row
        let full = 65_535
        var blocks: [Int] = Array(repeating: full, count: count / full)
        if count % full > 0 { blocks.append(count % full) }
        var cache: [[UInt8]: [UInt8]] = [:]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        png += chunk("IDAT", [0x78, 0x01])
        for (i, n) in blocks.enumerated() {
            let header: [UInt8] = [i == blocks.count - 1 ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            if cache[header] == nil { cache[header] = chunk("IDAT", header + [UInt8](repeating: 0, count: n)) }
            png += cache[header]!
        }
        // Adler-32 of zero bytes: a stays 1, b grows by 1 per byte.
        png += chunk("IDAT", bigEndian(UInt32(count % 65_521) << 16 | 1))
        png += chunk("IEND", [])
        return Data(png)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        let table: [UInt32] = (0..<256).map { n in
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            return c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in typed { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return bigEndian(UInt32(body.count)) + typed + bigEndian(~crc)
    }
}
