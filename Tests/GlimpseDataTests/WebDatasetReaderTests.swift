import Foundation
import XCTest
@testable import GlimpseData

final class WebDatasetReaderTests: XCTestCase {
    /// Samples as img2dataset writes them, plus the odd ones a real shard may hold.
    static func members() throws -> [(String, [UInt8])] {
        let horse = try Fixture.image("horse.png")
        let lion = try Fixture.image("lion.jpg")
        return [
            ("000000.jpg", lion), ("000000.txt", Array("a lion\n".utf8)), ("000000.json", Array(#"{"caption": "ignored", "key": "000000"}"#.utf8)),
            ("000001.png", horse), ("000001.json", Array(#"{"caption": "a horse"}"#.utf8)), ("000001.cls", Array("3".utf8)),
            ("sub/dir/000002.seg.png", horse), ("sub/dir/000002.JSON", Array(#"{"text": "from text"}"#.utf8)),
            ("000003.txt", Array("no image".utf8)),
            ("__meta__", Array("skipped".utf8)),
            ("../escape/000004.webp", Array("webp bytes".utf8)), ("../escape/000004.txt", Array("outside".utf8)),
            ("/abs/000005.jpeg", lion), ("/abs/000005.json", Array("[1]".utf8)),
        ]
    }

    func expected(_ shard: String) -> [String] {
        [
            "ok \(shard):000000 a lion",
            "ok \(shard):000001 a horse",
            "fail \(shard):sub/dir/000002: has no image member (jpg, jpeg, png or webp)",
            "fail \(shard):000003: has no image member (jpg, jpeg, png or webp)",
            "ok \(shard):../escape/000004 outside",
            "fail \(shard):/abs/000005: has a .json member that is a JSON array, expected an object",
        ]
    }

    func testSamplesAreGroupedByKeyWithTheirBytes() throws {
        let scratch = try ScratchDataset()
        let shard = try scratch.tar("00000.tar", try Self.members())
        let items = Array(WebDatasetReader(path: shard))
        XCTAssertEqual(items.map(summary), expected(shard))
        let first = try XCTUnwrap(items[0].record)
        XCTAssertEqual(first.image, .memory(name: "000000.jpg", bytes: try Fixture.image("lion.jpg")))
        XCTAssertEqual(first.metadata, #"{"caption": "ignored", "key": "000000"}"#)
        XCTAssertEqual(first.source, "\(shard) sample 000000")
        XCTAssertEqual(try imageBytes(try XCTUnwrap(items[1].record)), try Fixture.image("horse.png"))
        XCTAssertEqual(items[4].record?.image, .memory(name: "../escape/000004.webp", bytes: Array("webp bytes".utf8)))
    }

    func testGzippedShardReadsTheSameAsThePlainOne() throws {
        let scratch = try ScratchDataset()
        let plain = try scratch.tar("a.tar", try Self.members())
        for name in ["a.tar.gz", "a.tgz"] {
            let gz = try scratch.tar(name, try Self.members(), gzip: true)
            XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: gz)).prefix(2), Data([0x75, 0x73]))
            let strip = { (items: [DatasetItem], path: String) in items.map { summary($0).replacingOccurrences(of: path, with: "SHARD") } }
            XCTAssertEqual(strip(Array(WebDatasetReader(path: gz)), gz), strip(Array(WebDatasetReader(path: plain)), plain))
            XCTAssertEqual(Array(WebDatasetReader(path: gz)).compactMap { $0.record?.image }, Array(WebDatasetReader(path: plain)).compactMap { $0.record?.image })
        }
    }

    /// By reference, an uncompressed shard's images are offsets read back on demand: the same
    /// records and bytes as reading them, a long (pax header) name included; a gzipped
    /// shard's are read as before; a shard rewritten since is an error naming the member.
    func testImagesByReferenceReadBackTheSameBytes() throws {
        let scratch = try ScratchDataset()
        let long = String(repeating: "d", count: 120) + "/sample-long"
        let members = try Self.members() + [(long + ".png", try Fixture.image("horse.png")), (long + ".txt", Array("long".utf8))]
        let shard = try scratch.tar("r.tar", members)
        let read = Array(WebDatasetReader(path: shard)), referenced = Array(WebDatasetReader(path: shard, imagesByReference: true))
        XCTAssertEqual(referenced.map(summary), read.map(summary))
        XCTAssertEqual(read.compactMap(\.record).count, 4)
        for (a, b) in zip(read.compactMap(\.record), referenced.compactMap(\.record)) {
            guard case .archiveMember(shard, _, a.image.name) = b.image else { return XCTFail("\(b.image)") }
            XCTAssertEqual(try imageBytes(b), try imageBytes(a), a.key)
        }
        let gz = try scratch.tar("r.tar.gz", members, gzip: true)
        XCTAssertEqual(Array(WebDatasetReader(path: gz, imagesByReference: true)).compactMap { $0.record?.image },
                       read.compactMap { $0.record?.image })
        // The shard rewritten with the first members gone: the offsets now point elsewhere.
        let last = try XCTUnwrap(referenced.compactMap(\.record).last)
        _ = try scratch.tar("r.tar", Array(members.dropFirst(3)))
        XCTAssertThrowsError(try last.image.memberBytes()) { XCTAssertTrue("\($0)".contains("the shard changed"), "\($0)") }
    }

    func testCaptionFieldsAreConfigurableAndTextCanBeRequired() throws {
        let scratch = try ScratchDataset()
        let shard = try scratch.tar("s.tar", [
            ("a.jpg", [1]), ("a.json", Array(#"{"alt": "alt text", "caption": "c"}"#.utf8)),
            ("b.jpg", [2]), ("b.json", Array(#"{"caption": 5}"#.utf8)),
            ("c.jpg", [3]),
        ])
        let fields = DatasetFields(captionFields: ["alt", "caption"], requireText: true)
        XCTAssertEqual(Array(WebDatasetReader(path: shard, fields: fields)).map(summary), [
            "ok \(shard):a alt text",
            "fail \(shard):b: .json member has a number as \"caption\" (the caption), expected a string",
            "fail \(shard):c: has no text",
        ])
    }
}
