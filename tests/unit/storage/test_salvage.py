"""Salvage's bookkeeping: each table's columns in the new file are read once, and rows rebuilt
from the indexes go in by runs (one statement for each run of rows that fill the same columns),
not one statement each. What salvage recovers from damaged files is tested in
tests/reliability."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from app.storage import salvage
from app.storage.database import Database
from app.storage.feeds import add_feed
from app.storage.rebuild import from_indexes

ROWS = [(1, "a", "x"), (2, "b", "y"), (3, "c", "z"), (4, "d", None), (5, "e", "x")]


def _notes(*, indexed: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT)")
    if indexed:
        conn.execute("CREATE INDEX ix_notes_name ON notes (name)")
        conn.execute("CREATE INDEX ix_notes_kind ON notes (kind)")
        conn.executemany("INSERT INTO notes VALUES (?, ?, ?)", ROWS)
    return conn


def test_rows_rebuilt_from_indexes_go_in_by_runs_of_the_same_columns() -> None:
    src, dst = _notes(indexed=True), _notes(indexed=False)
    statements: list[str] = []
    dst.set_trace_callback(statements.append)
    runs: list[tuple[str, int]] = []

    def insert(
        conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]
    ) -> tuple[int, int]:
        runs.append((sql, len(rows)))
        return conn.executemany(sql, rows).rowcount, 0

    assert from_indexes(src, dst, "notes", {}, insert) == (5, 0, 0)
    assert dst.execute("SELECT * FROM notes ORDER BY id").fetchall() == ROWS
    assert [n for _sql, n in runs] == [5]
    assert sum("PRAGMA table_info" in s for s in statements) == 1


def test_salvage_reads_each_tables_columns_in_the_new_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = tmp_path / "damaged.db", tmp_path / "new.db"
    database = Database(source)
    with database.write() as s:
        add_feed(s, "https://example.org/feed.xml")
    database.close()
    kept = shutil.copy(source, tmp_path / "backup.db")
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        if args and args[0] is target:
            conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    report = salvage.salvage(source, target, backup=Path(kept))
    reads = Counter(re.findall(r'PRAGMA table_info\("(\w+)"\)', "\n".join(statements)))
    assert reads and set(reads.values()) == {1}, reads
    assert report.count("feeds") == 1
