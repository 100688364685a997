import Crypto
import Foundation

/// What an indexing run must do, worked out from the walk and the catalogue before any
/// embedding: unchanged files skipped, gone ones removed, and new or changed ones hashed so
/// that moves, copies and touched files keep or copy an embedding instead of being embedded.
/// Everything but the embedding goes into one transaction (`change`).
struct IndexPlan {
    var change = CatalogueChange()
    /// New and changed files whose content the library has no embedding for.
    var toEmbed: [WalkedFile] = []

    private let catalogue: Catalogue
    private let existing: [CatalogueFile]
    private var candidates: [WalkedFile] = []
    /// Rows under the indexed roots whose file is gone or changed, by id: removed unless a
    /// new file with their content claims them (a move).
    private var released: [Int64: CatalogueFile] = [:]
    private let walkedKeys: Set<FileKey>
    /// New files with the same content as another new file of this run, and that file: they
    /// get its embedding once it has one (see `LibraryIndexer`).
    var sameAsNew: [(file: WalkedFile, sha256: String, original: FileKey)] = []

    init(catalogue: Catalogue, scopes: [IndexScope], walked: [WalkedFile], summary: inout IndexSummary) throws {
        self.catalogue = catalogue
        existing = try catalogue.files()
        let inScope = { (key: FileKey) in scopes.contains { $0.contains(key) } }
        let failures = try catalogue.failures().filter { inScope($0.key) }
        var byKey: [FileKey: CatalogueFile] = [:]
        for file in existing where inScope(file.key) { byKey[file.key] = file }
        var failed: [FileKey: CatalogueFailure] = [:]
        for failure in failures { failed[failure.key] = failure }
        let walkedKeys = Set(walked.map(\.key))
        self.walkedKeys = walkedKeys

        for file in walked {
            if let row = byKey[file.key] {
                if row.size == file.size && row.mtime == file.mtime { summary.unchanged += 1; continue }
                if let id = row.id { released[id] = row }
                candidates.append(file)
            } else if let failure = failed[file.key], failure.size == file.size, failure.mtime == file.mtime {
                summary.failedBefore += 1
            } else {
                candidates.append(file)
            }
        }
        for (key, row) in byKey where !walkedKeys.contains(key) {
            if let id = row.id { released[id] = row }
        }
        change.clearedFailures = failures.map(\.key).filter { !walkedKeys.contains($0) }
    }

    /// Hashes the candidates and sorts them into touched, moved, copied and to-embed files;
    /// copies get their embedding written here (before `change` commits).
    mutating func resolveByContent(store: EmbeddingStore, summary: inout IndexSummary) throws {
        var hashes: [FileKey: String] = [:]
        for file in candidates {
            do {
                hashes[file.key] = try Self.sha256(file.fullPath)
            } catch {
                let failure = CatalogueFailure(root: file.key.root, path: file.key.path, size: file.size, mtime: file.mtime,
                                               reason: GlimpseError.wrap(error).reason(for: file.fullPath))
                change.failures.append(failure)
                summary.failures.append(failure)
                summary.failed += 1
            }
        }
        let hashed = candidates.filter { hashes[$0.key] != nil }

        // Same place, same content: only the size or time changed.
        var rest: [WalkedFile] = []
        let releasedByKey = Dictionary(released.values.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for file in hashed {
            if let row = releasedByKey[file.key], row.sha256 == hashes[file.key], let id = row.id {
                released[id] = nil
                change.touched.append((id, file.size, file.mtime))
                summary.touched += 1
            } else {
                rest.append(file)
            }
        }

        // A gone (or overwritten) file's content at a new place: the row moves with its slot.
        var releasedByHash: [String: [CatalogueFile]] = [:]
        for row in released.values.sorted(by: { ($0.root, $0.path) < ($1.root, $1.path) }) {
            releasedByHash[row.sha256, default: []].append(row)
        }
        var unmoved: [WalkedFile] = []
        for file in rest {
            guard let hash = hashes[file.key], var row = releasedByHash[hash]?.first, let id = row.id else {
                unmoved.append(file); continue
            }
            releasedByHash[hash]?.removeFirst()
            released[id] = nil
            change.removedFiles.append(id)
            row.root = file.key.root; row.path = file.key.path; row.size = file.size; row.mtime = file.mtime
            change.files.append(row)
            summary.moved += 1
        }
        // Rows still released are gone for good.
        change.removedFiles += released.keys.sorted()
        // (A changed file's old row goes too, but the file is not gone.)
        summary.removed = released.values.filter { !walkedKeys.contains($0.key) }.count
        let gone = Set(released.keys)

        // The content of a file still catalogued: copy its embedding into a free slot.
        var kept: [String: CatalogueFile] = [:]
        for row in existing where !gone.contains(row.id ?? -1) { kept[row.sha256] = kept[row.sha256] ?? row }
        var slots = SlotAllocator(count: try catalogue.slotCount(), used: existing.map(\.slot))
        var copies: [[Float]] = [], copySlots: [Int] = []
        var firstNew: [String: FileKey] = [:]
        for file in unmoved {
            guard let hash = hashes[file.key] else { continue }
            guard let source = kept[hash] else {
                if let original = firstNew[hash] {
                    sameAsNew.append((file, hash, original))
                } else {
                    firstNew[hash] = file.key
                    toEmbed.append(file)
                }
                continue
            }
            let slot = slots.next()
            copies.append(try store.read(slot: source.slot)); copySlots.append(slot)
            change.files.append(CatalogueFile(root: file.key.root, path: file.key.path, size: file.size, mtime: file.mtime,
                                              sha256: hash, width: source.width, height: source.height,
                                              takenAt: source.takenAt, slot: slot))
            summary.copied += 1
        }
        if !copies.isEmpty {
            try store.write(copies, at: copySlots)
            change.slotCount = slots.count
        }
    }

    /// SHA-256 of a file, read in pieces (a regular file within the image size limit).
    static func sha256(_ path: String) throws -> String {
        try InputFile.check(path, what: "image", limit: Limits.imageFileBytes)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot be opened for reading")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        var total = 0
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty {
            total += piece.count
            guard total <= Limits.imageFileBytes else {
                throw GlimpseError.invalidFile(path: path, reason: "grew past the \(Limits.imageFileBytes) bytes an image may have while being read")
            }
            hash.update(data: piece)
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
