import Foundation
import GRDB

/// A folder given to `index`, placed in the catalogue so that one photo is one row whatever
/// order folders are indexed in: a folder inside a catalogued root is indexed as that part of
/// the root (root `R`, prefix "2024/summer"), and a folder holding catalogued roots first
/// takes their rows in (see `Catalogue.absorb`) and is then a root itself.
struct IndexScope: Hashable, Sendable {
    var root: String
    /// The folder's path inside `root`, "/"-separated; "" for the root itself.
    var prefix: String

    var folder: String { prefix.isEmpty ? root : (root as NSString).appendingPathComponent(prefix) }

    /// Whether a catalogue row lies in this folder.
    func contains(_ key: FileKey) -> Bool {
        key.root == root && (prefix.isEmpty || key.path.hasPrefix(prefix + "/"))
    }

    /// A file found by walking `folder`, keyed as the catalogue keys it.
    func key(walked path: String) -> FileKey {
        FileKey(root: root, path: prefix.isEmpty ? path : prefix + "/" + path)
    }

    /// `inner`'s path inside `outer` when it lies strictly inside it.
    static func relative(_ inner: String, in outer: String) -> String? {
        let base = outer == "/" ? "/" : outer + "/"
        guard inner != outer, inner.hasPrefix(base) else { return nil }
        return String(inner.dropFirst(base.count))
    }

    /// The scopes for `folders` (absolute, links resolved, none inside another), given the
    /// roots the catalogue holds now; and the catalogued roots that lie inside another root
    /// (catalogued or given), each to be absorbed by the outermost one holding it.
    static func plan(folders: [String], catalogued: Set<String>) -> (scopes: [IndexScope], absorbed: [(inner: String, outer: String, prefix: String)]) {
        let all = catalogued.union(folders)
        // Roots holding a path form a chain of ancestors: the shortest is the outermost.
        func outermost(_ path: String) -> (root: String, prefix: String)? {
            guard let root = all.filter({ relative(path, in: $0) != nil }).min(by: { $0.count < $1.count }),
                  let prefix = relative(path, in: root) else { return nil }
            return (root, prefix)
        }
        let absorbed = catalogued.sorted().compactMap { inner in outermost(inner).map { (inner, $0.root, $0.prefix) } }
        let scopes = folders.map { folder in
            outermost(folder).map { IndexScope(root: $0.root, prefix: $0.prefix) } ?? IndexScope(root: folder, prefix: "")
        }
        return (scopes, absorbed)
    }
}

extension Catalogue {
    /// Every folder the catalogue has files or failures under (not the empty root of imported
    /// records that are no file here).
    func roots() throws -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT root FROM files WHERE root != '' UNION SELECT DISTINCT root FROM errors WHERE root != ''"))
        }
    }

    /// Moves the rows of root `inner` under root `outer` (their paths gain `prefix`), in one
    /// transaction. A row the outer root already has for the same file (a library indexed
    /// twice over, by an older version) wins; the inner duplicate goes, freeing its slot.
    func absorb(_ inner: String, into outer: String, prefix: String) throws {
        try write { db in
            for table in ["files", "errors"] {
                try db.execute(sql: """
                    DELETE FROM \(table) WHERE root = ? AND EXISTS (
                        SELECT 1 FROM \(table) AS o WHERE o.root = ? AND o.path = ? || '/' || \(table).path)
                    """, arguments: [inner, outer, prefix])
                try db.execute(sql: "UPDATE \(table) SET root = ?, path = ? || '/' || path WHERE root = ?",
                               arguments: [outer, prefix, inner])
            }
        }
    }
}
