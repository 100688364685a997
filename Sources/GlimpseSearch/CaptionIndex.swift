import Foundation
import GRDB

/// The captions of a library's photos, one per content (SHA-256), so that moved and copied
/// files share their caption without captioning again, and a caption goes when the last file
/// with its content goes. `captions` holds the texts; `captionWords`, an SQLite FTS5 index
/// over them (external content, kept in step by triggers), answers keyword queries ranked by
/// BM25. Captions are written in the indexing run's own transactions (`CatalogueChange`).
enum CaptionIndex {
    /// The "captions" migration: the tables, the FTS5 index and its triggers, and the record
    /// of the captioning model.
    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE captionModel (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                modelID TEXT NOT NULL,
                revision TEXT,
                fingerprint TEXT NOT NULL);
            CREATE TABLE captions (
                id INTEGER PRIMARY KEY,
                sha256 TEXT NOT NULL UNIQUE,
                text TEXT NOT NULL);
            CREATE VIRTUAL TABLE captionWords USING fts5(text, content = 'captions', content_rowid = 'id');
            CREATE TRIGGER captionsInserted AFTER INSERT ON captions BEGIN
                INSERT INTO captionWords (rowid, text) VALUES (new.id, new.text);
            END;
            CREATE TRIGGER captionsDeleted AFTER DELETE ON captions BEGIN
                INSERT INTO captionWords (captionWords, rowid, text) VALUES ('delete', old.id, old.text);
            END;
            CREATE TRIGGER captionsUpdated AFTER UPDATE ON captions BEGIN
                INSERT INTO captionWords (captionWords, rowid, text) VALUES ('delete', old.id, old.text);
                INSERT INTO captionWords (rowid, text) VALUES (new.id, new.text);
            END;
            -- Contents of file rows deleted in the open transaction: their captions are dropped
            -- at its end unless a file with that content remains (a move deletes, then inserts).
            CREATE TABLE releasedContent (sha256 TEXT PRIMARY KEY) WITHOUT ROWID;
            CREATE TRIGGER filesReleased AFTER DELETE ON files BEGIN
                INSERT OR IGNORE INTO releasedContent (sha256) VALUES (old.sha256);
            END;
            """)
    }

    /// Writes `captions` (content hash → text; a content already captioned keeps its caption)
    /// and drops the captions no file has any more; part of `Catalogue.commit`.
    static func apply(_ captions: [String: String], _ db: Database) throws {
        for (sha256, text) in captions.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "INSERT INTO captions (sha256, text) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
                           arguments: [sha256, text])
        }
        try db.execute(sql: """
            DELETE FROM captions WHERE sha256 IN (SELECT sha256 FROM releasedContent)
                AND NOT EXISTS (SELECT 1 FROM files WHERE files.sha256 = captions.sha256);
            DELETE FROM releasedContent;
            """)
    }
}

extension Catalogue {
    /// The model the library's captions come from, or nil for a library never captioned.
    public func captionModel() throws -> CaptionModel? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT modelID, revision, fingerprint FROM captionModel WHERE id = 1").map {
                CaptionModel(id: $0["modelID"], revision: $0["revision"], fingerprint: $0["fingerprint"])
            }
        }
    }

    /// Records the captioning model of a library not captioned yet; a library captioned with
    /// another model refuses (no change).
    public func adoptCaptionModel(_ model: CaptionModel) throws {
        if let existing = try captionModel() {
            try existing.requireSame(model, library: (path as NSString).deletingLastPathComponent)
            return
        }
        try write { db in
            try db.execute(sql: "INSERT INTO captionModel (id, modelID, revision, fingerprint) VALUES (1, ?, ?, ?)",
                           arguments: [model.id, model.revision, model.fingerprint])
        }
    }

    /// The captions of these contents (SHA-256 → text); contents without one are left out.
    public func captions(for contents: [String]) throws -> [String: String] {
        try read { db in
            var found: [String: String] = [:]
            for sha256 in Set(contents) {
                if let text = try String.fetchOne(db, sql: "SELECT text FROM captions WHERE sha256 = ?", arguments: [sha256]) {
                    found[sha256] = text
                }
            }
            return found
        }
    }

    /// Catalogued files in `scopes` whose content has no caption, one per content, in path order.
    func uncaptionedFiles(in scopes: [IndexScope]) throws -> [CatalogueFile] {
        let files = try read { db in
            try CatalogueFile.fetchAll(db, sql: """
                SELECT * FROM files WHERE NOT EXISTS (SELECT 1 FROM captions WHERE captions.sha256 = files.sha256)
                ORDER BY root, path
                """)
        }
        var seen: Set<String> = []
        return files.filter { file in scopes.contains { $0.contains(file.key) } && seen.insert(file.sha256).inserted }
    }

    /// Every captioned content matching `words` (see `KeywordQuery`) with its BM25 score
    /// (SQLite's sign: lower is a better match).
    func keywordMatches(_ query: KeywordQuery) throws -> [(sha256: String, bm25: Double)] {
        guard let match = query.expression else { return [] }
        return try read { db in
            try Row.fetchAll(db, sql: """
                SELECT captions.sha256 AS sha256, bm25(captionWords) AS rank FROM captionWords
                JOIN captions ON captions.id = captionWords.rowid
                WHERE captionWords MATCH ?
                """, arguments: [match]).map { (sha256: $0["sha256"], bm25: $0["rank"]) }
        }
    }
}
