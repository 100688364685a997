import Foundation
import GlimpseBase
import XCTest
@testable import GlimpseData

final class DatasetTests: XCTestCase {
    func testInputsOfEveryKindAreChainedInOrder() throws {
        let scratch = try ScratchDataset()
        let horse = try Fixture.image("horse.png")
        try scratch.write("horse.png", horse)
        let jsonl = try scratch.write("m.jsonl", #"{"image": "horse.png", "text": "j"}"# + "\n")
        let csv = try scratch.write("m.csv", "image,text\nhorse.png,c\n")
        let tsv = try scratch.write("m.tsv", "image\ttext\nhorse.png\tt\n")
        try scratch.write("folder/x.png", horse)
        try scratch.write("folder/x.txt", "f")
        try scratch.write("folder/readme.md", "skipped")
        let tar = try scratch.tar("s.tar", [("k.png", horse), ("k.txt", Array("w".utf8))])
        let tgz = try scratch.tar("s.tgz", [("k.png", horse), ("k.txt", Array("z".utf8))], gzip: true)
        let dataset = try Dataset(paths: [jsonl, csv, tsv, scratch.path("folder"), tar, tgz])
        XCTAssertEqual(dataset.inputs.map(\.kind), [.jsonLines, .csv, .tsv, .folder, .webDataset, .webDataset])
        let items = Array(dataset)
        XCTAssertEqual(items.compactMap { $0.record?.text }, ["j", "c", "t", "f", "w", "z"])
        for item in items { XCTAssertEqual(try imageBytes(try XCTUnwrap(item.record)), horse) }
        XCTAssertEqual(Set(items.compactMap { $0.record?.key }).count, 6)
        var iterator = dataset.makeIterator()
        while iterator.next() != nil {}
        XCTAssertEqual(iterator.skippedFiles, 1)
        // A second pass yields the same.
        XCTAssertEqual(Array(dataset).map(summary), items.map(summary))
    }

    func testUnknownOrMissingInputsAreRefused() throws {
        let scratch = try ScratchDataset()
        let zip = try scratch.write("a.zip", "x")
        XCTAssertThrowsError(try DatasetInput(path: zip))
        XCTAssertThrowsError(try DatasetInput(path: scratch.path("none.jsonl")))
    }

    func testShardsPartitionEveryItemExactlyOnce() throws {
        let scratch = try ScratchDataset()
        try scratch.write("horse.png", try Fixture.image("horse.png"))
        var lines = ""
        for i in 0..<10 { lines += i == 4 ? "bad\n" : #"{"image": "horse.png", "text": "\#(i)"}"# + "\n" }
        let dataset = try Dataset(paths: [try scratch.write("m.jsonl", lines)])
        let whole = Array(dataset).map(summary)
        var union: [Int: String] = [:]
        for i in 0..<3 {
            let shard = try DatasetShard(parsing: "\(i)/3")
            for (position, item) in dataset.items(in: shard) {
                XCTAssertEqual(position % 3, i)
                XCTAssertNil(union.updateValue(summary(item), forKey: position))
            }
        }
        XCTAssertEqual((0..<whole.count).map { union[$0] ?? "" }, whole)
        XCTAssertEqual(Array(dataset.items(in: .all)).count, 10)
    }

    func testShardSyntaxIsChecked() {
        for bad in ["3/3", "-1/3", "1/0", "1", "a/b", "1/2/3", "0/\(Limits.datasetShards + 1)", ""] {
            XCTAssertThrowsError(try DatasetShard(parsing: bad), bad)
        }
        XCTAssertEqual(try DatasetShard(parsing: "2/5"), try DatasetShard(index: 2, count: 5))
    }
}
