"""Rebuilding a profile database from what can still be read of a damaged one.

:func:`salvage` copies a damaged file into a fresh database of the current schema, table by
table in an order that keeps references valid, and falls back to reading row by row (by rowid)
where a table's scan fails part-way, so one bad page costs the rows on it and no more. Columns
the two schemas share are copied (an older profile's file works too); text that is not valid
UTF-8 is read with U+FFFD in place of the bad bytes. Articles whose feed was lost are kept under
a disabled placeholder feed, so clicks and stars on them survive; other rows whose parent was
lost are dropped and counted. The damaged file itself is only ever read, through a copy.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.storage.database import Database

logger = logging.getLogger(__name__)

ORDER = (
    "feeds",
    "articles",
    "tombstones",
    "screens",
    "impressions",
    "clicks",
    "feedback",
    "enclosures",
    "model_versions",
    "settings",
)
"""Tables in the order they are copied: parents before the rows that refer to them."""
BATCH = 500
PROBE_WINDOW = 100_000
"""Rowids probed past the last one read when a table's largest rowid cannot be read."""
_SKIPPED_PREFIXES = ("sqlite_", "article_fts")
"""SQLite's own tables and the search index's (rebuilt from the articles)."""


@dataclass(frozen=True)
class TableReport:
    """What became of one table: rows copied, rows that could not be read or kept."""

    name: str
    copied: int
    lost: int
    note: str = ""

    def line(self) -> str:
        """``clicks: 30 copied`` or ``articles: 1170 copied, 3 unreadable (...)``."""
        text = f"{self.name}: {self.copied} copied"
        if self.lost:
            text += f", {self.lost} lost"
        return text + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class SalvageReport:
    """What a salvage read from its source."""

    tables: tuple[TableReport, ...]
    source_version: int | None

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.tables)

    def count(self, name: str) -> int:
        """Rows copied into table ``name``."""
        return next((t.copied for t in self.tables if t.name == name), 0)


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@contextlib.contextmanager
def readable_copy(database: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of ``database`` (and its WAL), so that reading never
    writes into the original (no checkpoint, no journal recovery in place)."""
    work = Path(tempfile.mkdtemp(prefix=".heedful-read-", dir=database.parent))
    try:
        copy = work / "copy.db"
        shutil.copyfile(database, copy)
        wal = database.with_name(database.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        conn = sqlite3.connect(copy, isolation_level=None)
        conn.text_factory = _lenient_text
        try:
            yield conn
        finally:
            conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def salvage(source: Path, target: Path) -> SalvageReport:
    """Build ``target`` (a new file of the current schema) from what ``source`` still holds."""
    if target.exists():
        raise FileExistsError(f"{target} exists")
    Database(target, check=False).close()  # the current schema, empty
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        dst.execute("PRAGMA foreign_keys = OFF")
        dst.execute("BEGIN IMMEDIATE")
        # The search index is built once at the end, not row by row through its triggers.
        triggers = [
            row[0] for row in dst.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
        ]
        for (name,) in dst.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall():
            dst.execute(f'DROP TRIGGER "{name}"')
        with readable_copy(source) as src:
            version = _version(src)
            reports = [_copy_table(src, dst, name) for name in _tables(dst)]
        reports = _mend_references(dst, reports)
        for sql in triggers:
            dst.execute(sql)
        dst.execute("INSERT INTO article_fts (article_fts) VALUES ('rebuild')")
        dst.execute("COMMIT")
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"the rebuilt database failed its check: {problems[:3]}")
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the one file to be moved
    finally:
        dst.close()
    return SalvageReport(tuple(reports), version)


def _version(src: sqlite3.Connection) -> int | None:
    try:
        return int(src.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


def _tables(dst: sqlite3.Connection) -> list[str]:
    names = [
        row[0]
        for row in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(row[0]).startswith(_SKIPPED_PREFIXES)
    ]
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> TableReport:
    """Copy one table: a scan while it reads, then row by row past the first failure."""
    try:
        present = _columns(src, table)
    except sqlite3.DatabaseError as exc:
        return TableReport(table, 0, 0, f"its definition is unreadable: {exc}")
    if not present:
        return TableReport(table, 0, 0, "not in the damaged file")
    columns = [c for c in _columns(dst, table) if c in present]
    names = ", ".join(f'"{c}"' for c in columns)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608 (names from our own schema)
    copied = lost = 0
    last: int | None = None
    try:
        cursor = src.execute(f'SELECT rowid, {names} FROM "{table}" ORDER BY rowid')  # noqa: S608 (names from our own schema)
        while batch := cursor.fetchmany(BATCH):
            added, failed = _insert(dst, insert, [row[1:] for row in batch])
            copied, lost, last = copied + added, lost + failed, int(batch[-1][0])
        return TableReport(table, copied, lost)
    except sqlite3.DatabaseError as exc:
        logger.warning(
            "%s: the scan failed after %d rows (%s); reading row by row", table, copied, exc
        )
    added, failed, note = _copy_rows(src, dst, table, names, insert, last)
    return TableReport(table, copied + added, lost + failed, note)


def _copy_rows(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    table: str,
    names: str,
    insert: str,
    last: int | None,
) -> tuple[int, int, str]:
    """Read the rows after rowid ``last`` one by one; a row that fails to read is lost."""
    start = (last or 0) + 1
    try:
        top = src.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]  # noqa: S608 (names from our own schema)
        high = int(top) if top is not None else start - 1
        note = "read row by row past a damaged page"
    except sqlite3.DatabaseError:
        high = start + PROBE_WINDOW
        note = f"read row by row; rowids past {high} were not probed"
    added = failed = 0
    rows: list[Sequence[Any]] = []
    for rowid in range(start, high + 1):
        try:
            row = src.execute(f'SELECT {names} FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()  # noqa: S608 (names from our own schema)
        except sqlite3.DatabaseError:
            failed += 1
            continue
        if row is not None:
            rows.append(row)
        if len(rows) >= BATCH:
            ok, bad = _insert(dst, insert, rows)
            added, failed, rows = added + ok, failed + bad, []
    ok, bad = _insert(dst, insert, rows)
    return added + ok, failed + bad, note


def _insert(dst: sqlite3.Connection, insert: str, rows: Sequence[Sequence[Any]]) -> tuple[int, int]:
    """Insert rows; a batch that breaks a constraint is retried row by row. Returns (kept,
    refused)."""
    if not rows:
        return 0, 0
    dst.execute("SAVEPOINT batch")
    try:
        kept = dst.executemany(insert, rows).rowcount
        dst.execute("RELEASE batch")
        return kept, 0
    except sqlite3.DatabaseError:
        dst.execute("ROLLBACK TO batch")
        dst.execute("RELEASE batch")
    kept = refused = 0
    for row in rows:
        try:
            kept += dst.execute(insert, row).rowcount
        except sqlite3.DatabaseError:
            refused += 1
    return kept, refused


def _mend_references(dst: sqlite3.Connection, reports: list[TableReport]) -> list[TableReport]:
    """Give articles whose feed was lost a disabled placeholder feed; drop other rows whose
    parent was lost, and count them against their table."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    lost_feeds = [
        int(row[0])
        for row in dst.execute(
            "SELECT DISTINCT feed_id FROM articles WHERE feed_id NOT IN (SELECT id FROM feeds)"
        )
    ]
    for feed_id in lost_feeds:
        dst.execute(
            "INSERT INTO feeds (id, url, title, title_auto, enabled, created) "
            "VALUES (?, ?, ?, 0, 0, ?)",
            (
                feed_id,
                f"https://recovered.invalid/feed/{feed_id}",
                f"Recovered feed {feed_id}",
                now,
            ),
        )
    if lost_feeds:
        logger.warning(
            "%d feeds were lost; their articles are kept under placeholders", len(lost_feeds)
        )
    dropped: dict[str, int] = {}
    for _ in range(4):  # a dropped row can orphan its own children
        orphans = list(dst.execute("PRAGMA foreign_key_check"))
        if not orphans:
            break
        for table, rowid, _parent, _fk in orphans:
            dst.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))  # noqa: S608 (names from our own schema)
            dropped[table] = dropped.get(table, 0) + 1
    mended: list[TableReport] = []
    for report in reports:
        gone = dropped.get(report.name, 0)
        note = report.note
        if report.name == "feeds" and lost_feeds:
            note = ", ".join(filter(None, [note, f"{len(lost_feeds)} replaced by placeholders"]))
        if gone:
            note = ", ".join(filter(None, [note, f"{gone} referred to lost rows"]))
        mended.append(TableReport(report.name, report.copied - gone, report.lost + gone, note))
    return mended
