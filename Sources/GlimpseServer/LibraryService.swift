import Foundation
import Glimpse
import GlimpseSearch

/// A photo library behind the server: searches run as batches on one queue (several users'
/// queries become one matrix product over the memory-mapped embeddings), the snapshot is
/// taken again when `glimpse index` has changed the library since, and files and thumbnails
/// are served only for catalogued photos — a request names a catalogue id, never a path.
public final class LibraryService: @unchecked Sendable {
    public let library: PhotoLibrary
    let queue: BatchQueue<SearchQuery, [SearchHit]>
    private let lock = NSLock()
    private var loaded: (search: LibrarySearch, stamp: [Int64])

    /// Thumbnails' longer side in pixels.
    public static let thumbnailSide = 256

    public init(library: PhotoLibrary, batchSize: Int, capacity: Int) throws {
        self.library = library
        loaded = (try LibrarySearch(library: library, snapshot: library.snapshot()), Self.stamp(library))
        let holder = Holder()
        queue = BatchQueue(name: "search", batchSize: batchSize, capacity: capacity) { queries in
            guard let service = holder.service else { return queries.map { _ in .failure(GlimpseError.invalidArgument("the library is closed")) } }
            do {
                let search = try service.current()
                // One product for the batch; a query that fails (an unknown id) is run alone to find which.
                return ModelService.eachOrAlone(queries) { try search.search($0, clip: nil) }
            } catch {
                return queries.map { _ in .failure(error) }
            }
        }
        holder.service = self
    }

    /// Breaks the init-time cycle between the queue's closure and the service.
    private final class Holder: @unchecked Sendable { weak var service: LibraryService? }

    /// The snapshot (with the approximate index, where the library keeps a current one),
    /// taken again if the catalogue, the embeddings or the approximate index changed on disk.
    public func current() throws -> LibrarySearch {
        let stamp = Self.stamp(library)
        lock.lock()
        defer { lock.unlock() }
        if stamp != loaded.stamp { loaded = (try LibrarySearch(library: library, snapshot: library.snapshot()), stamp) }
        return loaded.search
    }

    public func snapshot() throws -> LibrarySnapshot { try current().snapshot }

    /// Modification times and sizes of the catalogue (and its write-ahead log), the
    /// embeddings and the approximate index's stamp.
    static func stamp(_ library: PhotoLibrary) -> [Int64] {
        let catalogue = (library.folder as NSString).appendingPathComponent(PhotoLibrary.catalogueName)
        let approximate = (library.folder as NSString).appendingPathComponent(PhotoLibrary.approximateStampName)
        return [catalogue, catalogue + "-wal", library.embeddingsPath, approximate].flatMap { path -> [Int64] in
            var info = stat()
            guard stat(path, &info) == 0 else { return [0, 0] }
            return [Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec), Int64(info.st_size)]
        }
    }

    /// The search, on the queue.
    public func search(_ query: SearchQuery) async throws -> [SearchHit] { try await queue.submit(query) }

    /// A catalogued file by id, if it is still where it was catalogued; nil for an imported
    /// record that is no file here (known by URL or key), which is never served.
    public func file(id: Int64) throws -> CatalogueFile? {
        guard let file = try snapshot().file(id: id), file.isLocal else { return nil }
        return file
    }

    /// A PNG thumbnail of a catalogued photo, made once and kept in the library's thumbnails
    /// folder under the file's content hash (so a moved file keeps its thumbnail and a changed
    /// one gets a new one).
    public func thumbnail(id: Int64) throws -> [UInt8]? {
        guard let file = try file(id: id), InputFile.kind(of: file.fullPath) == .regular else { return nil }
        let folder = (library.folder as NSString).appendingPathComponent("thumbnails")
        let path = (folder as NSString).appendingPathComponent("\(file.sha256).png")
        if let cached = FileManager.default.contents(atPath: path) { return [UInt8](cached) }
        let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: file.fullPath))
        let scale = Double(Self.thumbnailSide) / Double(max(image.width, image.height, 1))
        let small = scale >= 1 ? image : Resize.bilinear(image, width: max(1, Int((Double(image.width) * scale).rounded())),
                                                          height: max(1, Int((Double(image.height) * scale).rounded())))
        let bytes = try PNGEncoder.encode(small)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        return bytes
    }

    public func stop() { queue.stop() }
}
