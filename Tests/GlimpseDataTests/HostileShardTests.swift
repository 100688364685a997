import Foundation
import XCTest
@testable import GlimpseData

/// Shards built to hurt: cut short, not a tar at all, members over the size bound, keys
/// that repeat. Each costs one failure; the shards after it still read.
final class HostileShardTests: XCTestCase {
    func testATruncatedShardEndsWithOneFailureAndTheNextShardStillReads() throws {
        let scratch = try ScratchDataset()
        let lion = try Fixture.image("lion.jpg")
        let full = try scratch.tar("full.tar", [
            ("a.jpg", lion), ("a.txt", Array("first".utf8)),
            ("b.jpg", lion), ("b.txt", Array("second".utf8)),
        ])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: full)))
        // Cut in the middle of b.jpg's data: a is complete, b is lost.
        let cut = try scratch.write("cut.tar", Array(bytes[0..<(bytes.count / 2 + lion.count / 2)]))
        let next = try scratch.tar("next.tar", [("c.jpg", lion), ("c.txt", Array("third".utf8))])
        let items = Array(try Dataset(paths: [cut, next]))
        XCTAssertEqual(items.count, 3)
        XCTAssertEqual(items.map { $0.record?.text ?? $0.failure?.key ?? "" }, ["first", "\(cut):b", "third"])
        XCTAssertTrue(try XCTUnwrap(items[1].failure).reason.hasPrefix("is truncated or corrupt: "), "\(items[1])")
    }

    func testATruncatedGzippedShardEndsWithOneFailure() throws {
        let scratch = try ScratchDataset()
        let members: [(String, [UInt8])] = [
            ("a.jpg", try Fixture.image("lion.jpg")), ("a.txt", Array("first".utf8)),
            ("b.png", try Fixture.image("chelsea.png")), ("b.txt", Array("second".utf8)),
            ("c.png", try Fixture.image("camera.png")), ("c.txt", Array("third".utf8)),
        ]
        let full = try scratch.tar("full.tar.gz", members, gzip: true)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: full)))
        // Cut inside c.png (the images do not compress, so offsets carry over).
        let cut = try scratch.write("cut.tgz", Array(bytes[0..<(bytes.count * 7 / 8)]))
        let items = Array(WebDatasetReader(path: cut))
        XCTAssertEqual(items.map { $0.record?.text ?? $0.failure?.key ?? "" }, ["first", "second", "\(cut):c"], "\(items)")
        // Cut so short that libarchive cannot even open it: still exactly one failure.
        let stub = try scratch.write("stub.tgz", Array(bytes[0..<100]))
        XCTAssertEqual(Array(WebDatasetReader(path: stub)).map { $0.failure?.key }, [stub])
    }

    func testMembersNoSampleUsesAreSkippedUnread() throws {
        let scratch = try ScratchDataset()
        // A 16 MiB member of a kind no record uses, under a 1 MiB bound for what is read:
        // libarchive skips it, so it never counts against the bound or sits in memory.
        let shard = try scratch.tar("extra.tar", [
            ("a.jpg", [1, 2]), ("a.npy", [UInt8](repeating: 9, count: 16 << 20)), ("a.txt", Array("kept".utf8)),
        ])
        XCTAssertEqual(Array(WebDatasetReader(path: shard, imageLimit: 1 << 20, textLimit: 1 << 20)).map(summary), ["ok \(shard):a kept"])
    }

    func testGarbageNamedTarIsOneFailure() throws {
        let scratch = try ScratchDataset()
        let garbage = try scratch.write("garbage.tar", Array(repeating: 0x5A, count: 5000))
        let gz = try scratch.write("garbage.tar.gz", [0x1F, 0x8B, 0x08, 0x00] + Array(repeating: 0x5A, count: 100))
        let empty = try scratch.write("empty.tar", [])
        for path in [garbage, gz] {
            let items = Array(WebDatasetReader(path: path))
            XCTAssertEqual(items.count, 1, "\(path): \(items)")
            XCTAssertEqual(items.first?.failure?.key, path)
        }
        XCTAssertLessThanOrEqual(Array(WebDatasetReader(path: empty)).compactMap(\.record).count, 0)
    }

    func testAMemberOverTheBoundIsSkippedUnreadAndTheSampleFails() throws {
        let scratch = try ScratchDataset()
        // An 8 MiB image member against a 1 MiB bound: skipped by libarchive, never held.
        let shard = try scratch.tar("big.tar", [
            ("a.jpg", [UInt8](repeating: 7, count: 8 << 20)), ("a.txt", Array("big".utf8)),
            ("b.jpg", [1, 2, 3]), ("b.txt", [UInt8](repeating: 0x61, count: 2000)),
            ("c.jpg", [4, 5, 6]), ("c.txt", Array("small".utf8)),
        ])
        let items = Array(WebDatasetReader(path: shard, imageLimit: 1 << 20, textLimit: 1000))
        XCTAssertEqual(items.map(summary), [
            "fail \(shard):a: member a.jpg is \(8 << 20) bytes, more than the \(1 << 20) bytes it may have",
            "fail \(shard):b: member b.txt is 2000 bytes, more than the 1000 bytes it may have",
            "ok \(shard):c small",
        ])
    }

    func testRepeatedKeysAndDuplicateExtensionsAreFailures() throws {
        let scratch = try ScratchDataset()
        let shard = try scratch.tar("dup.tar", [
            ("a.jpg", [1]), ("a.jpg", [2]),
            ("b.jpg", [3]),
            ("a.txt", Array("again".utf8)),
            ("noextension", [0]), (".hidden", [0]),
            ("c.png", [4]),
        ])
        XCTAssertEqual(Array(WebDatasetReader(path: shard)).map(summary), [
            "fail \(shard):a: has two members with the extension \"jpg\"",
            "ok \(shard):b -",
            "fail \(shard):a: repeats the key of an earlier sample in this shard (its members are not consecutive)",
            "ok \(shard):c -",
        ])
    }
}
