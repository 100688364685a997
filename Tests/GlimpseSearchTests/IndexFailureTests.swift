import Foundation
import XCTest
@testable import GlimpseSearch

/// Bad files are recorded with their reason and skipped; a library refuses another model.
final class IndexFailureTests: XCTestCase {
    func testCorruptImagesAreRecordedAndSkipped() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        try LibraryFixtures.writePhoto(photos, "good.png", seed: 1)
        try Data((0 ..< 500).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: photos + "/noise.jpg"))
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: LibraryFixtures.image("cheetah.jpg")))
        try jpeg.prefix(jpeg.count / 3).write(to: URL(fileURLWithPath: photos + "/truncated.jpg"))
        let library = try PhotoLibrary(folder: root + "/lib", create: true)

        let run = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(run.embedded, 1)
        XCTAssertEqual(run.failed, 2)
        let failures = try library.catalogue.failures()
        XCTAssertEqual(failures.map(\.path), ["noise.jpg", "truncated.jpg"])
        XCTAssertTrue(failures[0].reason.contains("not a JPEG or PNG"), failures[0].reason)
        XCTAssertTrue(failures[1].reason.contains("corrupt or truncated JPEG"), failures[1].reason)
        XCTAssertEqual(try library.catalogue.files().map(\.path), ["good.png"])

        let again = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(again.failedBefore, 2, "unchanged bad files are not retried")
        XCTAssertEqual(again.failed, 0)

        // Fixed: the file is embedded and its failure cleared; deleted: the failure goes too.
        try FileManager.default.copyItem(atPath: LibraryFixtures.image("cheetah.jpg"), toPath: photos + "/fixed.jpg")
        try FileManager.default.removeItem(atPath: photos + "/truncated.jpg")
        try FileManager.default.moveItem(atPath: photos + "/fixed.jpg", toPath: photos + "/truncated.jpg")
        try FileManager.default.removeItem(atPath: photos + "/noise.jpg")
        let fixed = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(fixed.embedded, 1)
        XCTAssertEqual(try library.catalogue.failures().count, 0)
    }

    func testCLIReportsFailuresAndExitsOne() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root + "/photos", "good.png", seed: 1)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: root + "/photos/bad.png"))
        let run = try LibraryFixtures.glimpse(["index", "--model", LibraryFixtures.model, "--db", root + "/lib", root + "/photos", "--quiet"])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("bad.png"), run.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["embedded"] as? Int, 1)
        XCTAssertEqual(summary["failed"] as? Int, 1)
    }

    func testLibraryRefusesAnotherModel() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root + "/photos", "a.png", seed: 1)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        _ = try LibraryFixtures.index(library, [root + "/photos"])

        // Same architecture and files, other weights: a copy of the checkpoint with its
        // last bytes changed.
        let other = root + "/other-model"
        try FileManager.default.copyItem(atPath: LibraryFixtures.model, toPath: other)
        let weights = URL(fileURLWithPath: other + "/model.safetensors")
        var bytes = try Data(contentsOf: weights)
        for i in bytes.count - 64 ..< bytes.count { bytes[i] ^= 0x01 }
        try bytes.write(to: weights)
        let clip = try CLIP(folder: other)
        XCTAssertThrowsError(try LibraryIndexer(library: library, clip: clip, model: LibraryModel(spec: other, clip: clip))) { error in
            XCTAssertTrue("\(error)".contains("different model"), "\(error)")
        }
        // A moved copy of the same model is the same model.
        let copy = root + "/same-model"
        try FileManager.default.copyItem(atPath: LibraryFixtures.model, toPath: copy)
        let same = try CLIP(folder: copy)
        XCTAssertNoThrow(try LibraryIndexer(library: library, clip: same, model: LibraryModel(spec: copy, clip: same)))

        let cli = try LibraryFixtures.glimpse(["index", "--model", other, "--db", root + "/lib", root + "/photos", "--quiet"])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.stderr.contains("different model"), cli.stderr)
        let search = try LibraryFixtures.glimpse(["search", "--db", root + "/lib", "--model", other, "a cat"])
        XCTAssertEqual(search.status, 1)
        XCTAssertTrue(search.stderr.contains("different model"), search.stderr)
    }
}
