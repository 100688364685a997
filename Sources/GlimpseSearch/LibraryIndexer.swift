import Crypto
import Foundation
import GlimpseCore
import GRDB

/// Brings a library up to date with folders of photos: new and changed files are embedded,
/// removed ones pruned, moved and copied ones recognised by their content hash and given
/// their embedding without running the model, and files that fail are recorded and skipped.
///
/// Each batch is one transaction, committed only after its embeddings are on disk, so a run
/// killed at any point loses at most the batch in flight, and the next run picks up there.
public final class LibraryIndexer {
    public let library: PhotoLibrary
    public let clip: CLIP
    public let model: LibraryModel
    /// Files per forward pass and per transaction.
    public var batchSize = CLIPModel.imagesPerPass
    let store: EmbeddingStore
    /// Captions each photo too, when set (`caption(with:)`).
    public internal(set) var captioner: LibraryCaptioner?

    /// Records `model` as the library's (a new library) or checks it is the library's.
    public init(library: PhotoLibrary, clip: CLIP, model: LibraryModel) throws {
        guard model.dimension == clip.model.embeddingDim else {
            throw GlimpseError.invalidArgument("model identity says \(model.dimension) dimensions, the model has \(clip.model.embeddingDim)")
        }
        try library.catalogue.adopt(model)
        self.library = library
        self.clip = clip
        self.model = model
        store = try EmbeddingStore(path: library.embeddingsPath, dimension: model.dimension)
    }

    /// Indexes `folders` (each walked recursively). Files catalogued under other folders are
    /// left alone; those under these folders and gone are removed.
    public func index(folders: [String], progress: ((IndexProgress) -> Void)? = nil) throws -> IndexSummary {
        var summary = IndexSummary()
        // A folder inside another one given is walked as part of it (not catalogued twice).
        let given = Set(try folders.map(Self.root))
        let outermost = given.filter { folder in !given.contains { IndexScope.relative(folder, in: $0) != nil } }.sorted()
        summary.repaired = try repairTruncation()
        // A folder inside a catalogued one is part of it; one holding catalogued ones takes them in.
        let (scopes, absorbed) = IndexScope.plan(folders: outermost, catalogued: try library.catalogue.roots())
        for (inner, outer, prefix) in absorbed { try library.catalogue.absorb(inner, into: outer, prefix: prefix) }

        var walked: [WalkedFile] = []
        for scope in scopes {
            let walk = PhotoWalk(root: scope.folder, excluding: [library.folder])
            walked += walk.files.map { WalkedFile(key: scope.key(walked: $0.key.path), size: $0.size, mtime: $0.mtime) }
            summary.otherFiles += walk.otherFiles
            summary.skippedFolders += walk.problems
        }
        summary.photos = walked.count

        var plan = try IndexPlan(catalogue: library.catalogue, scopes: scopes, walked: walked, summary: &summary)
        try plan.resolveByContent(store: store, summary: &summary)
        try library.catalogue.commit(plan.change)

        try embed(plan.toEmbed, summary: &summary, progress: progress)
        let leftovers = try copyWithinRun(plan.sameAsNew, summary: &summary)
        try embed(leftovers, summary: &summary, progress: progress)
        try captionMissing(in: scopes, summary: &summary)
        return summary
    }

    /// Files whose content equals another new file of this run take its embedding (or its
    /// failure) once it is committed; any whose original did not make it are returned.
    func copyWithinRun(_ duplicates: [(file: WalkedFile, sha256: String, original: FileKey)],
                       summary: inout IndexSummary) throws -> [WalkedFile] {
        guard !duplicates.isEmpty else { return [] }
        var slots = try allocator()
        var change = CatalogueChange(), rows: [[Float]] = [], at: [Int] = [], leftovers: [WalkedFile] = []
        for (file, sha256, original) in duplicates {
            let (row, failure) = try library.catalogue.read { db in
                (try CatalogueFile.fetchOne(db, sql: "SELECT * FROM files WHERE root = ? AND path = ?", arguments: [original.root, original.path]),
                 try CatalogueFailure.fetchOne(db, sql: "SELECT * FROM errors WHERE root = ? AND path = ?", arguments: [original.root, original.path]))
            }
            if let row, row.sha256 == sha256 {
                let slot = slots.next()
                rows.append(try store.read(slot: row.slot)); at.append(slot)
                change.files.append(CatalogueFile(root: file.key.root, path: file.key.path, size: file.size, mtime: file.mtime,
                                                  sha256: sha256, width: row.width, height: row.height, takenAt: row.takenAt, slot: slot))
                summary.copied += 1
            } else if let failure, row == nil {
                let same = CatalogueFailure(root: file.key.root, path: file.key.path, size: file.size, mtime: file.mtime, reason: failure.reason)
                change.failures.append(same)
                summary.failures.append(same)
                summary.failed += 1
            } else {
                leftovers.append(file)
            }
        }
        try store.write(rows, at: at)
        change.slotCount = slots.count
        try library.catalogue.commit(change)
        return leftovers
    }

    /// Free rows as the committed catalogue sees them.
    func allocator() throws -> SlotAllocator {
        let current = try library.catalogue.read { db in
            (try Catalogue.slotCount(db, path: library.catalogue.path), try Int.fetchAll(db, sql: "SELECT slot FROM files"))
        }
        return SlotAllocator(count: current.0, used: current.1)
    }

    /// An indexed folder as an absolute path with links resolved, so one folder is one root.
    static func root(_ folder: String) throws -> String {
        guard InputFile.kind(of: folder) == .directory else {
            if InputFile.kind(of: folder) == .missing { throw GlimpseError.fileNotFound(path: folder, what: "folder to index") }
            throw GlimpseError.invalidArgument("\(folder) is not a folder; glimpse index takes folders of photos")
        }
        return URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Drops the catalogue rows whose embeddings lie past the end of the embeddings file (it
    /// was truncated or lost), so their files count as new and are embedded again.
    func repairTruncation() throws -> Int {
        let rows = try store.rowCount()
        guard try library.catalogue.slotCount() > rows else { return 0 }
        let lost = try library.catalogue.read { db in
            try CatalogueFile.fetchAll(db, sql: "SELECT * FROM files WHERE slot >= ?", arguments: [rows])
        }
        var change = CatalogueChange()
        change.removedFiles = lost.compactMap(\.id)
        change.lowerSlotCount = rows
        try library.catalogue.commit(change)
        return lost.count
    }

    /// One batch decoded and preprocessed ahead: pixels of the files that decoded, and per file
    /// its facts or why it failed.
    struct Prepared {
        var pixels: Tensor?
        /// The captioning model's pixels of the same decoded images, when captioning.
        var captionPixels: Tensor?
        var files: [(file: WalkedFile, result: Result<Facts, GlimpseError>)]
        var fault: GlimpseError?
    }

    struct Facts {
        var sha256: String
        var takenAt: String?
        var width: Int
        var height: Int
    }

    /// Embeds `files` batch by batch, decoding the next batch on a background thread.
    func embed(_ files: [WalkedFile], summary: inout IndexSummary, progress: ((IndexProgress) -> Void)?) throws {
        guard !files.isEmpty else { return }
        let preprocessor = try clip.preprocessor
        let side = clip.model.image.imageSize
        let batches = stride(from: 0, to: files.count, by: batchSize).map { Array(files[$0 ..< min($0 + batchSize, files.count)]) }
        let captioner = self.captioner
        // Batch k + 1 is read, decoded and preprocessed on another thread while batch k is encoded.
        func preparing(_ index: Int) -> Background<Prepared>? {
            guard batches.indices.contains(index) else { return nil }
            let files = batches[index]
            return Background { Self.prepare(files, preprocessor: preprocessor, side: side, captioner: captioner) }
        }
        var pending = preparing(0), taken = 0
        var slots = try allocator()
        let start = Date()
        var done = 0
        while let current = pending {
            let batch = try current.get()
            taken += 1
            pending = preparing(taken)
            if let fault = batch.fault { throw fault }
            var change = CatalogueChange()
            var rows: [[Float]] = []
            if let pixels = batch.pixels {
                let features = try clip.model.imageFeatures(pixels: pixels)
                l2NormalizeInPlace(features)
                rows = features.rowArrays
            }
            var texts: IndexingIterator<[String]>?
            if let captioner, let pixels = batch.captionPixels { texts = try captioner.texts(pixels: pixels).makeIterator() }
            var next = rows.makeIterator()
            var written: [[Float]] = [], at: [Int] = []
            for (file, result) in batch.files {
                switch result {
                case .success(let facts):
                    guard let row = next.next() else { throw GlimpseError.invalidArgument("fewer embeddings than decoded images") }
                    let slot = slots.next()
                    written.append(row); at.append(slot)
                    change.files.append(CatalogueFile(root: file.key.root, path: file.key.path, size: file.size, mtime: file.mtime,
                                                      sha256: facts.sha256, width: facts.width, height: facts.height,
                                                      takenAt: facts.takenAt, slot: slot))
                    summary.embedded += 1
                    if let text = texts?.next() { change.captions[facts.sha256] = text }
                case .failure(let error):
                    let failure = CatalogueFailure(root: file.key.root, path: file.key.path, size: file.size, mtime: file.mtime,
                                                   reason: error.reason(for: file.fullPath))
                    change.failures.append(failure)
                    summary.failures.append(failure)
                    summary.failed += 1
                }
            }
            try store.write(written, at: at)
            change.slotCount = slots.count
            try library.catalogue.commit(change)
            summary.captioned += change.captions.count
            done += batch.files.count
            progress?(IndexProgress(done: done, total: files.count, seconds: Date().timeIntervalSince(start)))
        }
    }

    /// Reads, hashes and decodes each file of a batch once, preprocessing into one tensor.
    static func prepare(_ files: [WalkedFile], preprocessor: ImagePreprocessor, side: Int, captioner: LibraryCaptioner? = nil) -> Prepared {
        var facts: [Facts] = []
        let captionSlots = captioner.map { LibraryCaptioner.PixelSlots(count: files.count, captioner: $0) }
        do {
            let batch = try PixelBatch(files: files.map(\.fullPath), preprocessor: preprocessor, size: side) { path in
                let data = [UInt8](try InputFile.read(path, what: "image", limit: Limits.imageFileBytes))
                let sha = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
                let image = try ImageDecoder.decode(data: data, name: path)
                try captionSlots?.add(image)
                facts.append(Facts(sha256: sha, takenAt: ExifMetadata.dateTimeOriginal(fileBytes: data),
                                   width: image.width, height: image.height))
                return image
            }
            var decoded = facts.makeIterator()
            let results = zip(files, batch.inputs).map { file, input in
                (file, input.flatMap { _ in decoded.next().map { .success($0) } ?? .failure(.invalidArgument("missing facts")) })
            }
            return Prepared(pixels: batch.inputs.contains { (try? $0.get()) != nil } ? batch.pixels : nil,
                            captionPixels: captionSlots?.batch, files: results)
        } catch {
            return Prepared(pixels: nil, files: [], fault: .wrap(error))
        }
    }
}

extension GlimpseError {
    static func wrap(_ error: any Error) -> GlimpseError {
        error as? GlimpseError ?? .invalidArgument(String(describing: error))
    }

    /// What went wrong with the file at `path`, without repeating the path (the catalogue
    /// keeps the path beside the reason).
    func reason(for path: String) -> String {
        if case let .invalidFile(failed, reason) = self, failed == path { return reason }
        return description
    }
}

extension Tensor {
    var rowArrays: [[Float]] {
        let values = scalars, width = rowSize
        guard width > 0 else { return [] }
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0 ..< $0 + width]) }
    }
}
