import Foundation

/// A model repository found in the Hugging Face cache (by Glimpse or by Python).
public struct CachedModel: Sendable {
    /// A snapshot and the branches or tags that point to it.
    public struct Revision: Sendable {
        public let commit: String
        public let refs: [String]
        public let files: Int
    }

    public let id: String
    public let folder: URL
    /// Newest first.
    public let revisions: [Revision]
    /// Bytes of the blobs (each stored once, however many snapshots share it); partial downloads excluded.
    public let sizeOnDisk: Int64
    /// `architectures[0]` from config.json of the `main` snapshot (else the newest), and `model_type`.
    public let architecture: String?
    public let modelType: String?

    /// The model repositories (`models--*`) under a hub cache folder, sorted by id. A folder
    /// that does not exist is an error (`fileNotFound`), so a mistyped path is not taken for an
    /// empty cache; callers for whom an absent default cache means "nothing yet" check first.
    public static func all(in root: URL) throws -> [CachedModel] {
        let fm = FileManager.default
        switch InputFile.kind(of: root.path) {
        case .missing: throw GlimpseError.fileNotFound(path: root.path, what: "Hugging Face cache folder")
        case .directory: break
        default: throw GlimpseError.invalidFile(path: root.path, reason: "is not a folder, so not a Hugging Face cache")
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: root.path) } catch {
            throw GlimpseError.invalidFile(path: root.path, reason: "cannot list the Hugging Face cache: \(error.localizedDescription)")
        }
        return names.filter { $0.hasPrefix("models--") }.sorted().compactMap { name in
            let parts = name.dropFirst("models--".count).components(separatedBy: "--")
            guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
            return CachedModel(id: parts.joined(separator: "/"), folder: root.appendingPathComponent(name, isDirectory: true))
        }
    }

    init(id: String, folder: URL) {
        let fm = FileManager.default
        self.id = id
        self.folder = folder
        let refsFolder = folder.appendingPathComponent("refs")
        var refsByCommit: [String: [String]] = [:]
        if let walker = fm.enumerator(atPath: refsFolder.path) {
            while let ref = walker.nextObject() as? String {
                let url = refsFolder.appendingPathComponent(ref)
                var isDirectory: ObjCBool = false
                guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                      let commit = try? String(contentsOf: url, encoding: .utf8) else { continue }
                refsByCommit[commit.trimmingCharacters(in: .whitespacesAndNewlines), default: []].append(ref)
            }
        }
        let snapshots = folder.appendingPathComponent("snapshots")
        let commits = (try? fm.contentsOfDirectory(atPath: snapshots.path)) ?? []
        func modified(_ commit: String) -> Date {
            ((try? fm.attributesOfItem(atPath: snapshots.appendingPathComponent(commit).path))?[.modificationDate] as? Date) ?? .distantPast
        }
        revisions = commits.sorted { modified($0) > modified($1) }.map { commit in
            let files = fm.enumerator(atPath: snapshots.appendingPathComponent(commit).path)?.allObjects.count ?? 0
            return Revision(commit: commit, refs: (refsByCommit[commit] ?? []).sorted(), files: files)
        }
        let blobs = folder.appendingPathComponent("blobs")
        sizeOnDisk = ((try? fm.contentsOfDirectory(atPath: blobs.path)) ?? []).filter { !$0.hasSuffix(".incomplete") }.reduce(0) { sum, blob in
            sum + (((try? fm.attributesOfItem(atPath: blobs.appendingPathComponent(blob).path))?[.size] as? NSNumber)?.int64Value ?? 0)
        }
        let main = revisions.first { $0.refs.contains("main") } ?? revisions.first
        let config = main.flatMap { try? ConfigReader(contentsOf: snapshots.appendingPathComponent($0.commit).appendingPathComponent("config.json")) }
        modelType = config?.values["model_type"] as? String
        architecture = (config?.values["architectures"] as? [String])?.first ?? modelType
    }
}
