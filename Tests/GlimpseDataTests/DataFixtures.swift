import CArchive
import Foundation
import XCTest
@testable import GlimpseData

/// A scratch folder for one test's dataset, removed afterwards, and the helpers to fill it:
/// files, copies of the committed fixture images, and tar shards written with libarchive.
final class ScratchDataset {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "glimpse-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let path = path(relative)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String { try write(relative, Array(text.utf8)) }

    /// Writes a tar (or, with `gzip`, a .tar.gz) holding `members` in order.
    @discardableResult
    func tar(_ relative: String, _ members: [(String, [UInt8])], gzip: Bool = false) throws -> String {
        let path = path(relative)
        let archive = try XCTUnwrap(archive_write_new())
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        if gzip { archive_write_add_filter_gzip(archive) }
        XCTAssertEqual(archive_write_open_filename(archive, path), ARCHIVE_OK)
        for (name, bytes) in members {
            let entry = try XCTUnwrap(archive_entry_new())
            archive_entry_set_pathname(entry, name)
            archive_entry_set_size(entry, Int64(bytes.count))
            archive_entry_set_filetype(entry, 0o100000)
            archive_entry_set_perm(entry, 0o644)
            XCTAssertEqual(archive_write_header(archive, entry), ARCHIVE_OK)
            if !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
                XCTAssertEqual(written, bytes.count)
            }
            archive_entry_free(entry)
        }
        XCTAssertEqual(archive_write_close(archive), ARCHIVE_OK)
        return path
    }
}

enum Fixture {
    /// A committed test image's bytes (Tests/Fixtures/images).
    static func image(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/images/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }
}

/// An item reduced to what the tests compare: "ok KEY TEXT" or "fail KEY: REASON".
func summary(_ item: DatasetItem) -> String {
    switch item {
    case .success(let record): return "ok \(record.key) \(record.text ?? "-")"
    case .failure(let failure): return "fail \(failure.key): \(failure.reason)"
    }
}

extension DatasetItem {
    var record: DatasetRecord? { if case .success(let r) = self { return r } else { return nil } }
    var failure: DatasetFailure? { if case .failure(let f) = self { return f } else { return nil } }
}

/// The bytes of a record's image, wherever it is.
func imageBytes(_ record: DatasetRecord) throws -> [UInt8] {
    switch record.image {
    case .file(let path): return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    case .memory(_, let bytes): return bytes
    case .archiveMember: return try XCTUnwrap(try record.image.memberBytes())
    }
}
