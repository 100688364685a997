"""Writes a synthetic photo library for timing `glimpse bench-search` / `search` at scale.

    python Tools/bench/make_search_library.py OUT_DIR --count 100000 [--dim 512] [--clusters 1000] [--seed 0]

OUT_DIR gets catalogue.sqlite (the schema of Sources/GlimpseSearch/Catalogue.swift, migration
"v1") and embeddings.f32 (random unit vectors, little-endian float32 rows: uniform on the sphere, or with
--clusters C spread around C random centres, which is closer to real image embeddings and is
what approximate indexes are built for). The file rows name
files that do not exist: the library is for timing search and dedup only, not for indexing.
"""
import argparse
import os
import sqlite3

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--clusters", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = rng.standard_normal((args.count, args.dim), dtype=np.float32)
    if args.clusters > 0:
        centres = rng.standard_normal((args.clusters, args.dim), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        rows = centres[rng.integers(0, args.clusters, args.count)] + rows * (0.5 / np.sqrt(args.dim))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    rows.astype("<f4").tofile(os.path.join(args.out, "embeddings.f32"))

    path = os.path.join(args.out, "catalogue.sqlite")
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
        INSERT INTO grdb_migrations VALUES ('v1');
        CREATE TABLE library (id INTEGER PRIMARY KEY CHECK (id = 1), modelID TEXT NOT NULL, revision TEXT,
            fingerprint TEXT NOT NULL, dimension INTEGER NOT NULL, slotCount INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, root TEXT NOT NULL, path TEXT NOT NULL,
            size INTEGER NOT NULL, mtime INTEGER NOT NULL, sha256 TEXT NOT NULL, width INTEGER NOT NULL,
            height INTEGER NOT NULL, takenAt TEXT, slot INTEGER NOT NULL UNIQUE, UNIQUE (root, path));
        CREATE INDEX files_on_sha256 ON files (sha256);
        CREATE TABLE errors (root TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
            reason TEXT NOT NULL, PRIMARY KEY (root, path));
    """)
    db.execute("INSERT INTO library VALUES (1, 'synthetic', NULL, 'synthetic', ?, ?)", (args.dim, args.count))
    db.executemany(
        "INSERT INTO files (root, path, size, mtime, sha256, width, height, takenAt, slot) VALUES (?, ?, 0, 0, ?, 640, 480, NULL, ?)",
        ((f"/synthetic", f"album{i % 100}/IMG_{i:07d}.jpg", f"{i:064x}", i) for i in range(args.count)))
    db.commit()
    db.close()
    print(f"{args.count} embeddings of {args.dim} in {args.out}")


if __name__ == "__main__":
    main()
