import Foundation
import GlimpseBase

/// A private folder per process and target where inputs are written for the loaders that read
/// files by path (memory-mapped checkpoints, model folders). Under `$TMPDIR`, so the fuzz script
/// can put it on a RAM disk and remove it afterwards.
enum FuzzScratch {
    private static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("glimpse-fuzz-\(ProcessInfo.processInfo.processIdentifier)", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// An empty folder for `target` (emptied on every call, so no file of a previous input
    /// is seen by the next).
    static func folder(_ target: FuzzTarget) throws -> URL {
        let url = root.appendingPathComponent(target.rawValue, isDirectory: true)
        let manager = FileManager.default
        if let names = try? manager.contentsOfDirectory(atPath: url.path) {
            for name in names { try? manager.removeItem(at: url.appendingPathComponent(name)) }
        } else {
            try manager.createDirectory(at: url, withIntermediateDirectories: true)
        }
        return url
    }

    /// Writes `bytes` as `name` in `folder` and returns its URL.
    @discardableResult
    static func write<C: Collection>(_ bytes: C, _ name: String, in folder: URL) throws -> URL where C.Element == UInt8 {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Removes every scratch folder of this process.
    public static func removeAll() {
        try? FileManager.default.removeItem(at: root)
    }
}

extension FuzzTarget {
    /// Removes the files the targets wrote for this process.
    public static func removeScratchFiles() { FuzzScratch.removeAll() }
}
