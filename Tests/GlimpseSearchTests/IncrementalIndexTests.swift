import Foundation
import XCTest
@testable import GlimpseSearch

/// Indexing twice does nothing the second time; adding, changing, deleting, moving, copying
/// and touching files costs exactly the embeddings the new content needs, and the catalogue
/// then holds every file with the embedding `CLIP.embedEach` gives it.
final class IncrementalIndexTests: XCTestCase {
    func testFirstRunEmbedsEveryPhotoAndSkipsOtherFiles() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        for i in 0 ..< 5 { try LibraryFixtures.writePhoto(photos, "p\(i).png", seed: UInt64(i)) }
        try LibraryFixtures.writePhoto(photos, "sub/deeper/q.PNG", seed: 99)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: photos + "/notes.txt"))
        try LibraryFixtures.writePhoto(photos, ".hidden/h.png", seed: 100)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)

        let first = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(first.photos, 6)
        XCTAssertEqual(first.embedded, 6)
        XCTAssertEqual(first.otherFiles, 1)
        XCTAssertEqual(first.failed, 0)
        let paths = (0 ..< 5).map { "\(photos)/p\($0).png" } + ["\(photos)/sub/deeper/q.PNG"]
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(library), try LibraryFixtures.referenceEmbeddings(paths))
        XCTAssertEqual(try library.catalogue.files().first { $0.path == "sub/deeper/q.PNG" }?.width, 96)

        let second = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(second.unchanged, 6)
        XCTAssertEqual(second.embedded, 0)
        XCTAssertEqual(second.removed, 0)
    }

    func testChangesCostExactlyTheNewContent() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        let photos = root + "/photos"
        for i in 0 ..< 6 { try LibraryFixtures.writePhoto(photos, "p\(i).png", seed: UInt64(i)) }
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        XCTAssertEqual(try LibraryFixtures.index(library, [photos]).embedded, 6)
        let slotsBefore = try library.catalogue.slotCount()

        let fm = FileManager.default
        try LibraryFixtures.writePhoto(photos, "new1.png", seed: 10)                 // added
        try LibraryFixtures.writePhoto(photos, "new2.png", seed: 11)                 // added
        try LibraryFixtures.writePhoto(photos, "p0.png", seed: 12)                   // changed content
        try fm.removeItem(atPath: photos + "/p1.png")                              // deleted
        try fm.createDirectory(atPath: photos + "/album", withIntermediateDirectories: true)
        try fm.moveItem(atPath: photos + "/p2.png", toPath: photos + "/album/moved.png")   // moved
        try fm.copyItem(atPath: photos + "/p3.png", toPath: photos + "/album/copy.png")    // copied
        let touched = photos + "/p4.png"                                            // same bytes, new time
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: touched)

        let run = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(run.embedded, 3, "two new files and one changed one")
        XCTAssertEqual(run.moved, 1)
        XCTAssertEqual(run.copied, 1)
        XCTAssertEqual(run.touched, 1)
        XCTAssertEqual(run.removed, 1)
        XCTAssertEqual(run.unchanged, 2, "p3 and p5")
        XCTAssertEqual(run.photos, 8)

        let paths = ["p0", "p3", "p4", "p5", "new1", "new2", "album/moved", "album/copy"].map { "\(photos)/\($0).png" }
        assertEmbeddingsEqual(try LibraryFixtures.libraryEmbeddings(library), try LibraryFixtures.referenceEmbeddings(paths))
        // Freed rows are reused: 6 rows before, 8 files now; at most 2 + the changed file's new row.
        let files = try library.catalogue.files()
        XCTAssertEqual(Set(files.map(\.slot)).count, files.count, "no two files share a row")
        XCTAssertLessThanOrEqual(try library.catalogue.slotCount(), slotsBefore + 3)

        let again = try LibraryFixtures.index(library, [photos])
        XCTAssertEqual(again.unchanged, 8)
        XCTAssertEqual(again.embedded + again.moved + again.copied + again.touched + again.removed, 0)
    }

    func testFilesOfOtherFoldersAreKept() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root + "/a", "x.png", seed: 1)
        try LibraryFixtures.writePhoto(root + "/b", "y.png", seed: 2)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        XCTAssertEqual(try LibraryFixtures.index(library, [root + "/a", root + "/b"]).embedded, 2)
        let onlyA = try LibraryFixtures.index(library, [root + "/a"])
        XCTAssertEqual(onlyA.removed, 0)
        XCTAssertEqual(try library.catalogue.files().count, 2)
    }

    func testNestedFoldersAreCataloguedOnce() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root + "/a", "x.png", seed: 1)
        try LibraryFixtures.writePhoto(root + "/a/sub", "y.png", seed: 2)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        let run = try LibraryFixtures.index(library, [root + "/a/sub", root + "/a", root + "/a/"])
        XCTAssertEqual(run.photos, 2)
        XCTAssertEqual(try library.catalogue.files().map(\.fullPath), [root + "/a/sub/y.png", root + "/a/x.png"].sorted())
    }

    func testLibraryInsideTheIndexedFolderIsNotWalked() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        try LibraryFixtures.writePhoto(root, "x.png", seed: 1)
        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        try LibraryFixtures.writePhoto(root + "/lib", "inside.png", seed: 2)
        let run = try LibraryFixtures.index(library, [root])
        XCTAssertEqual(run.photos, 1)
        XCTAssertEqual(run.otherFiles, 0)
    }

    func testExifDateIsRecorded() throws {
        let root = try LibraryFixtures.temporaryFolder(self)
        // A JPEG whose APP1 holds an Exif sub-IFD with DateTimeOriginal, written by hand.
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: LibraryFixtures.image("lion.jpg"))))
        let date = Array("2021:07:04 12:34:56\0".utf8)
        var tiff: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0]
        tiff += [1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]       // IFD0: ExifIFD → 26
        tiff += [1, 0, 0x03, 0x90, 2, 0, 20, 0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0]     // Exif IFD: 0x9003 → 44
        tiff += date
        let body = Array("Exif\0\0".utf8) + tiff
        let app1: [UInt8] = [0xFF, 0xE1, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
        let photo = root + "/photos/dated.jpg"
        try FileManager.default.createDirectory(atPath: root + "/photos", withIntermediateDirectories: true)
        try Data(Array(jpeg[0 ..< 2]) + app1 + Array(jpeg[2...])).write(to: URL(fileURLWithPath: photo))
        try LibraryFixtures.writePhoto(root + "/photos", "undated.png", seed: 3)

        let library = try PhotoLibrary(folder: root + "/lib", create: true)
        XCTAssertEqual(try LibraryFixtures.index(library, [root + "/photos"]).embedded, 2)
        let files = try library.catalogue.files()
        XCTAssertEqual(files.first { $0.path == "dated.jpg" }?.takenAt, "2021:07:04 12:34:56")
        XCTAssertNil(files.first { $0.path == "undated.png" }?.takenAt)
    }
}
