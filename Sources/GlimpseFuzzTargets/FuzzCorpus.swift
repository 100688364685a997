import Foundation

/// The committed inputs of a target: its seed corpus `Tests/Fixtures/fuzz/<target>/` and the
/// crashers the fuzzer found, `Tests/Fixtures/fuzz/crashers/<target>/`, each a plain file.
public enum FuzzCorpus {
    /// The regular files under `folder` (recursively, hidden files skipped), sorted by path.
    public static func files(under folder: URL) -> [URL] {
        guard let walker = FileManager.default.enumerator(
            at: folder, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else { return [] }
        var files: [URL] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            files.append(url)
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The seed and crasher folders of `target` in a fixtures folder.
    public static func folders(of target: FuzzTarget, fixtures: URL) -> [URL] {
        let fuzz = fixtures.appendingPathComponent("fuzz", isDirectory: true)
        return [fuzz.appendingPathComponent(target.rawValue, isDirectory: true),
                fuzz.appendingPathComponent("crashers", isDirectory: true).appendingPathComponent(target.rawValue, isDirectory: true)]
    }
}
