import Foundation
import XCTest
@testable import GlimpseData

final class TarWriterTests: XCTestCase {
    static func write(_ members: [(String, [UInt8])], to path: String) throws {
        var bytes: [UInt8] = []
        let writer = try TarWriter(name: path) { bytes.append(contentsOf: $0) }
        for (name, data) in members { try writer.add(name, bytes: data) }
        try writer.finish()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// GNU tar, an independent reader, lists the members in order and extracts the same bytes.
    func testGNUTarReadsWhatIsWritten() throws {
        let scratch = try ScratchDataset()
        let horse = try Fixture.image("horse.png")
        let long = String(repeating: "k", count: 150) + "/ünïcode key.txt"
        let members: [(String, [UInt8])] = [("000000.png", horse), ("000000.json", Array(#"{"a": 1}"#.utf8)),
                                            ("000000.txt", Array("a horse\n".utf8)), ("empty.txt", []), (long, Array("long".utf8))]
        let path = scratch.path("out.tar")
        try Self.write(members, to: path)
        XCTAssertEqual(try tar(["-tf", path]), members.map(\.0).joined(separator: "\n") + "\n")
        for (name, data) in members {
            XCTAssertEqual(Array(try tarData(["-xOf", path, name])), data, name)
        }
        // The same members give the same bytes.
        let again = scratch.path("again.tar")
        try Self.write(members, to: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: again)))
    }

    /// A shard written here reads back as WebDataset samples.
    func testWebDatasetReaderReadsWrittenShard() throws {
        let scratch = try ScratchDataset()
        let lion = try Fixture.image("lion.jpg")
        let path = scratch.path("shard.tar")
        try Self.write([("a.jpg", lion), ("a.txt", Array("a lion".utf8)), ("b.jpg", lion), ("b.json", Array(#"{"caption": "b"}"#.utf8))], to: path)
        let items = Array(WebDatasetReader(path: path))
        XCTAssertEqual(items.map(summary), ["ok \(path):a a lion", "ok \(path):b b"])
    }

    func testSinkErrorIsReported() throws {
        struct Full: Error {}
        var calls = 0
        let writer = try TarWriter(name: "full.tar") { _ in calls += 1; throw Full() }
        XCTAssertThrowsError(try {
            try writer.add("x.txt", bytes: Array(repeating: 7, count: 100_000))
            try writer.finish()
        }()) { XCTAssertTrue($0 is Full, "\($0)") }
        XCTAssertThrowsError(try writer.add("bad\u{0}name", bytes: []))
    }

    private func tarData(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "tar \(arguments)")
        return data
    }

    private func tar(_ arguments: [String]) throws -> String {
        String(decoding: try tarData(arguments), as: UTF8.self)
    }
}
