import Foundation
import XCTest
@testable import GlimpseSearch

/// Near-duplicate groups equal the connected components of a brute-force similarity graph
/// over `CLIP.embedEach` embeddings, and planted copies and resized copies are found.
final class DuplicateTests: XCTestCase {
    func testPlantedDuplicatesAreGrouped() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        var paths: [String] = []
        for name in ["chelsea.png", "cheetah.jpg", "horse.png", "camera.png"] {
            let target = photos + "/" + name
            try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: LibraryFixtures.image(name), toPath: target)
            paths.append(target)
        }
        try FileManager.default.copyItem(atPath: photos + "/chelsea.png", toPath: photos + "/chelsea copy.png")
        paths.append(photos + "/chelsea copy.png")
        let chelsea = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: photos + "/chelsea.png"))
        let smaller = Resize.bicubic(chelsea, width: chelsea.width * 3 / 4, height: chelsea.height * 3 / 4)
        try PNGEncoder.write(smaller, to: URL(fileURLWithPath: photos + "/chelsea small.png"))
        paths.append(photos + "/chelsea small.png")
        let horse = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: photos + "/horse.png"))
        try PNGEncoder.write(Resize.bicubic(horse, width: horse.width * 2, height: horse.height * 2),
                             to: URL(fileURLWithPath: photos + "/horse big.png"))
        paths.append(photos + "/horse big.png")
        for i in 0 ..< 4 { paths.append(try LibraryFixtures.writePhoto(photos, "s\(i).png", seed: UInt64(70 + i))) }

        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        let run = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(run.embedded + run.copied, paths.count)
        XCTAssertEqual(run.copied, 1, "the byte-identical copy takes its original's embedding")

        // Reference: components of the graph "cosine ≥ t" over independent embeddings.
        let reference = try LibraryFixtures.referenceEmbeddings(paths)
        func components(_ t: Double) -> Set<Set<String>> {
            var group = Dictionary(uniqueKeysWithValues: paths.map { ($0, $0) })
            func find(_ p: String) -> String { group[p] == p ? p : find(group[p]!) }
            for a in paths { for b in paths where a < b {
                let x = reference[a]!, y = reference[b]!
                let cos = zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                if cos >= t { group[find(a)] = find(b) }
            } }
            let sets = Dictionary(grouping: paths, by: find).values.map(Set.init)
            return Set(sets.filter { $0.count > 1 })
        }
        let snapshot = try library.snapshot()
        for t in [0.999, 0.99, 0.95] as [Float] {
            for block in [2, 3, 1024] {
                let groups = try snapshot.duplicates(threshold: t, block: block)
                XCTAssertEqual(Set(groups.map { Set($0.files.map(\.fullPath)) }), components(Double(t)), "threshold \(t), block \(block)")
            }
        }
        let strict = try snapshot.duplicates(threshold: 0.999)
        let chelseaGroup = try XCTUnwrap(strict.first { $0.files.contains { $0.path == "chelsea.png" } })
        XCTAssertTrue(Set(chelseaGroup.files.map(\.path)).isSuperset(of: ["chelsea.png", "chelsea copy.png", "chelsea small.png"]))
        XCTAssertTrue(strict.contains { Set($0.files.map(\.path)).isSuperset(of: ["horse.png", "horse big.png"]) })

        let cli = try LibraryFixtures.glimpse(["dedup", "--db", root + "/lib", "--threshold", "0.999"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let lines = cli.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.count, strict.count)
        let firstFiles = (lines.first?["files"] as? [[String: Any]])?.compactMap { $0["path"] as? String }
        XCTAssertEqual(firstFiles, strict.first?.files.map(\.fullPath))
    }
}
