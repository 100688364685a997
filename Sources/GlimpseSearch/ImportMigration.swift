import GRDB

extension Catalogue {
    /// The tables of `EmbeddingImporter`: per imported row its record's key and caption, and
    /// per chunk of a bulk output (by the journal's job fingerprint, so a copied or moved
    /// folder is the same) how many of its rows are in the library, committed with them.
    static func registerImportMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("import") { db in
            try db.create(table: "imported") { t in
                t.primaryKey("fileID", .integer).references("files", onDelete: .cascade)
                t.column("key", .text).notNull()
                t.column("caption", .text)
            }
            try db.create(table: "importedChunks") { t in
                t.column("job", .text).notNull()
                t.column("chunk", .integer).notNull()
                t.column("folder", .text).notNull()
                t.column("rows", .integer).notNull()
                t.column("complete", .boolean).notNull()
                t.primaryKey(["job", "chunk"])
            }
        }
    }
}
