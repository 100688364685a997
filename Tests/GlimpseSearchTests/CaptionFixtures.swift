import Foundation
import XCTest
@testable import GlimpseSearch

/// The tiny seeded BLIP captioning checkpoint, and the independent reference for captions:
/// `BLIPCaptioner.captionEach` with the checkpoint's defaults, as `glimpse caption` runs it.
enum CaptionFixtures {
    static let model = LibraryFixtures.fixtures.appendingPathComponent("blip-caption-tiny").path

    static func libraryCaptioner(_ folder: String = model) throws -> LibraryCaptioner {
        let captioner = try BLIPCaptioner(folder: folder)
        return LibraryCaptioner(captioner: captioner, model: try CaptionModel(spec: folder, captioner: captioner))
    }

    /// Indexes `folders` into `library`, captioning each photo.
    static func index(_ library: PhotoLibrary, _ folders: [String], batchSize: Int = 4) throws -> IndexSummary {
        let clip = try LibraryFixtures.clip()
        let indexer = try LibraryIndexer(library: library, clip: clip, model: LibraryModel(spec: LibraryFixtures.model, clip: clip))
        indexer.batchSize = batchSize
        try indexer.caption(with: libraryCaptioner())
        return try indexer.index(folders: folders)
    }

    /// Path → the first caption `BLIPCaptioner` gives the file, computed here.
    static func referenceCaptions(_ paths: [String]) throws -> [String: String] {
        let captioner = try BLIPCaptioner(folder: model)
        var out: [String: String] = [:]
        for (path, result) in zip(paths, try captioner.captionEach(imageFiles: paths)) {
            out[path] = try XCTUnwrap(try result.get().first).text
        }
        return out
    }

    /// Path → caption as the library holds them (nil for a photo without one).
    static func libraryCaptions(_ library: PhotoLibrary) throws -> [String: String?] {
        let files = try library.catalogue.files()
        let texts = try library.catalogue.captions(for: files.map(\.sha256))
        var out: [String: String?] = [:]
        for file in files { out[file.fullPath] = texts[file.sha256] }
        return out
    }

    /// Rows of the captions table (one per captioned content).
    static func captionCount(_ library: PhotoLibrary) throws -> Int {
        try library.catalogue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM captions") ?? -1 }
    }

    /// The words of a text as the FTS5 unicode61 tokenizer sees plain ASCII: lowercase runs
    /// of letters and digits.
    static func words(_ text: String) -> Set<String> {
        Set(text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init))
    }
}
