import Foundation

/// A photo library: a folder holding `catalogue.sqlite` (what was indexed, see `Catalogue`)
/// and `embeddings.f32` (one embedding per catalogued file, see `EmbeddingStore`). Index it
/// with `LibraryIndexer`, search a `LibrarySnapshot` of it.
public final class PhotoLibrary: Sendable {
    public let folder: String
    public let catalogue: Catalogue

    public static let catalogueName = "catalogue.sqlite"
    public static let embeddingsName = "embeddings.f32"
    /// The approximate index, and the stamp naming the rows it was built from (see `ApproximateIndexFile`).
    public static let approximateIndexName = "approximate.faiss"
    public static let approximateStampName = "approximate.json"

    /// Opens the library in `folder`; with `create`, a missing folder or catalogue is made.
    public init(folder: String, create: Bool = false) throws {
        let folder = URL(fileURLWithPath: folder).standardizedFileURL.path
        self.folder = folder
        switch InputFile.kind(of: folder) {
        case .directory: break
        case .missing:
            guard create else { throw GlimpseError.fileNotFound(path: folder, what: "photo library") }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw GlimpseError.invalidFile(path: folder, reason: "cannot be created as a library folder (\(error.localizedDescription))")
            }
        case .regular, .other:
            throw GlimpseError.invalidFile(path: folder, reason: "is a file; a library is a folder (holding \(Self.catalogueName) and \(Self.embeddingsName))")
        }
        let cataloguePath = (folder as NSString).appendingPathComponent(Self.catalogueName)
        if !create && InputFile.kind(of: cataloguePath) == .missing {
            throw GlimpseError.fileNotFound(path: cataloguePath, what: "photo library catalogue (index a folder into the library first)")
        }
        catalogue = try Catalogue(path: cataloguePath)
    }

    public var embeddingsPath: String { (folder as NSString).appendingPathComponent(Self.embeddingsName) }

    /// The model the library was built with; an error for a library never indexed.
    public func model() throws -> LibraryModel {
        guard let model = try catalogue.model() else {
            throw GlimpseError.invalidArgument("the library \(folder) is empty: index a folder into it first (glimpse index)")
        }
        return model
    }

    /// The catalogue and the embeddings as they are now, for searching.
    public func snapshot() throws -> LibrarySnapshot {
        let model = try self.model()
        // Read the files and the slot count in one go, then map exactly that many rows.
        let files = try catalogue.files()
        let slots = try catalogue.slotCount()
        let matrix = try EmbeddingMatrix(path: embeddingsPath, rows: slots, dimension: model.dimension)
        return try LibrarySnapshot(model: model, files: files, embeddings: matrix)
    }
}
