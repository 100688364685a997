import Foundation
import GlimpseBase

/// A folder of images, walked recursively in sorted (byte-wise) order: every `.jpg`, `.jpeg`
/// and `.png` is a record keyed by its path, its text read from a sidecar `STEM.txt` beside it
/// when there is one. Other files are skipped and counted. Only one folder's listing is held
/// at a time per level; symbolic links to folders are not followed (a loop would never end)
/// and nesting is bounded by `Limits.folderDepth`.
public final class FolderReader: IteratorProtocol, Sequence {
    public let root: String
    public let fields: DatasetFields
    /// Files that were neither images nor sidecars, seen so far.
    public private(set) var skippedFiles = 0
    /// Folders being walked: each with its sorted entries and the next one to look at.
    private var stack: [(path: String, entries: [String], next: Int, imageStems: Set<String>)] = []
    private var pending: DatasetFailure?

    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    public init(path: String, fields: DatasetFields = DatasetFields()) {
        self.root = path
        self.fields = fields
        if case let .failure(failure) = push(path) { pending = failure }
    }

    private func push(_ path: String) -> Result<Void, DatasetFailure> {
        guard stack.count < Limits.folderDepth else {
            return .failure(DatasetFailure(key: path, source: path, reason: "is nested deeper than \(Limits.folderDepth) folders; skipped"))
        }
        do {
            let entries = try FileManager.default.contentsOfDirectory(atPath: path)
            let stems = Set(entries.filter { Self.isImage($0) }.map { ($0 as NSString).deletingPathExtension })
            stack.append((path, entries.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, 0, stems))
            return .success(())
        } catch {
            return .failure(DatasetFailure(key: path, source: path, reason: "cannot be listed as a folder (\(error.localizedDescription))"))
        }
    }

    public func next() -> DatasetItem? {
        if let failure = pending {
            pending = nil
            return .failure(failure)
        }
        while let top = stack.last {
            guard top.next < top.entries.count else {
                stack.removeLast()
                continue
            }
            let name = top.entries[top.next]
            stack[stack.count - 1].next += 1
            let path = (top.path as NSString).appendingPathComponent(name)
            var isLink = false
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
               attributes[.type] as? FileAttributeType == .typeSymbolicLink {
                isLink = true
            }
            switch InputFile.kind(of: path) {
            case .directory:
                if isLink { skippedFiles += 1; continue }
                if case let .failure(failure) = push(path) { return .failure(failure) }
            case .regular:
                if Self.isImage(name) { return record(path) }
                let ext = (name as NSString).pathExtension
                if ext != "txt" || !top.imageStems.contains((name as NSString).deletingPathExtension) {
                    skippedFiles += 1
                }
            case .missing, .other:
                skippedFiles += 1
            }
        }
        return nil
    }

    static func isImage(_ name: String) -> Bool {
        imageExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    private func record(_ path: String) -> DatasetItem {
        let fail = { (reason: String) in DatasetItem.failure(DatasetFailure(key: path, source: path, reason: reason)) }
        do {
            try InputFile.check(path, what: "image", limit: Limits.imageFileBytes)
        } catch {
            return fail("\(error)")
        }
        let sidecar = (path as NSString).deletingPathExtension + ".txt"
        var text: String?
        if InputFile.kind(of: sidecar) != .missing {
            do {
                text = try InputFile.text(sidecar, what: "caption file", limit: Limits.textFileBytes)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                return fail("\(error)")
            }
        }
        switch fields.caption(text) {
        case .failure(let error): return fail(error.reason)
        case .success(let caption):
            return .success(DatasetRecord(key: path, source: path, image: .file(path: path), text: caption))
        }
    }
}
