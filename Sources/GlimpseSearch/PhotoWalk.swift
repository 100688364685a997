import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file found by walking an indexed folder, with what `stat` says about it.
public struct WalkedFile: Sendable, Equatable {
    public var key: FileKey
    public var size: Int64
    /// Nanoseconds since 1970.
    public var mtime: Int64
    public var fullPath: String { (key.root as NSString).appendingPathComponent(key.path) }
}

/// Walks a folder recursively for the photos a library catalogues: files whose extension is
/// one the decoders read (JPEG, PNG). Everything else is counted and skipped, as are hidden
/// entries (names starting with "."), and the library's own folder when it sits inside.
///
/// Symbolic links are followed (a link to a photo or a folder of photos is a photo or a
/// folder to its owner), but each folder is entered once, by device and inode, so a link
/// loop ends; nesting is bounded by `Limits.folderDepth`. (GlimpseData's `FolderReader` walks
/// for datasets: it reads caption sidecars and does not follow folder links, so it is not
/// reused here.)
public struct PhotoWalk {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png"]

    public private(set) var files: [WalkedFile] = []
    /// Regular files that are not photos.
    public private(set) var otherFiles = 0
    /// Folders that could not be listed, nested too deep, or entered twice (link loops).
    public private(set) var problems: [(path: String, reason: String)] = []

    private var visited: Set<[UInt64]> = []
    private let exclude: Set<[UInt64]>

    /// Walks `root` (an absolute folder path), never entering the folders in `excluding`.
    public init(root: String, excluding: [String] = []) {
        exclude = Set(excluding.compactMap { Self.identity($0) })
        walk(root: root, folder: "", depth: 0)
        files.sort { Array($0.key.path.utf8).lexicographicallyPrecedes(Array($1.key.path.utf8)) }
    }

    static func identity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    private mutating func walk(root: String, folder: String, depth: Int) {
        let absolute = folder.isEmpty ? root : (root as NSString).appendingPathComponent(folder)
        guard depth < Limits.folderDepth else {
            problems.append((absolute, "is nested deeper than \(Limits.folderDepth) folders; skipped"))
            return
        }
        guard let id = Self.identity(absolute), !exclude.contains(id) else { return }
        guard visited.insert(id).inserted else {
            problems.append((absolute, "was already walked (a symbolic-link loop or a second link to it); skipped"))
            return
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: absolute)
        } catch {
            problems.append((absolute, "cannot be listed (\(error.localizedDescription))"))
            return
        }
        for name in names.sorted() where !name.hasPrefix(".") {
            let relative = folder.isEmpty ? name : folder + "/" + name
            let full = (absolute as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(full, &info) == 0 else { otherFiles += 1; continue }  // dangling link
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                walk(root: root, folder: relative, depth: depth + 1)
            case S_IFREG where Self.imageExtensions.contains((name as NSString).pathExtension.lowercased()):
                #if canImport(Darwin)
                let time = info.st_mtimespec
                #else
                let time = info.st_mtim
                #endif
                let mtime = Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
                files.append(WalkedFile(key: FileKey(root: root, path: relative), size: Int64(info.st_size), mtime: mtime))
            default:
                otherFiles += 1
            }
        }
    }
}
