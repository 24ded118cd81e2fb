"""Every row of a profile's file, for tests that compare two ways of writing the same data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SEGMENTS = ("article_fts_data", "article_fts_idx")
"""The full-text index's segments: how its terms are laid out (FTS5 writes a segment per
statement), not which; the terms are compared instead."""


def every_row(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the file but the index's segments, sorted, and every term
    of the full-text index with its article, column and position (after an integrity check)."""
    conn = sqlite3.connect(path)
    try:
        names = [
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if row[0] not in _SEGMENTS
        ]
        tables = {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
        }
        conn.execute("INSERT INTO article_fts (article_fts) VALUES ('integrity-check')")
        conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, article_fts, instance)")
        tables["terms"] = sorted(conn.execute("SELECT * FROM temp.terms").fetchall())
        return tables
    finally:
        conn.close()
