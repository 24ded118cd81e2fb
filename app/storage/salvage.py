"""Rebuilding a profile database from what can still be read of a damaged one.

:func:`salvage` copies a damaged file into a fresh database of the current schema, table by
table in an order that keeps references valid, and falls back to reading row by row (by rowid)
where a table's scan fails part-way, so one bad page costs the rows on it and no more. Columns
the two schemas share are copied (an older profile's file works too); text that is not valid
UTF-8 is read with U+FFFD in place of the bad bytes. Articles whose feed was lost are kept under
a disabled placeholder feed, so clicks and stars on them survive; other rows whose parent was
lost are dropped and counted. The damaged file itself is only ever read, through a copy.

Rows are read by every route that still holds them, and merged by rowid, the first found
kept: the file's pages with its write-ahead log written in, pages a cut took put back from
the log's older generations (:mod:`app.storage.wal`); then the newest backup; then what the
table's indexes list, for rows whose own pages are gone (:mod:`app.storage.rebuild`).
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

from app.storage.backup import borrow_schema
from app.storage.database import Database
from app.storage.rebuild import LOST_SESSION, TableInfo, from_indexes, table_info
from app.storage.wal import fold

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
def readable_copy(
    database: Path, *, mend: bool = False, backup: Path | None = None
) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of ``database`` (and its WAL), so that reading never
    writes into the original (no checkpoint, no journal recovery in place). With ``mend``, the
    copy is made readable where it can be: a file cut short is padded back to the size its
    header gives (SQLite refuses a short file outright; padded, only the lost pages fail), the
    write-ahead log is written into it, with the pages its stale frames still hold
    (:func:`app.storage.wal.fold`), lost schema pages are taken from ``backup`` where it has
    the same ones (:func:`app.storage.backup.borrow_schema`), and schema entries a flipped
    bit garbled are rewritten from the schema that built them."""
    work = Path(tempfile.mkdtemp(prefix=".heedful-read-", dir=database.parent))
    try:
        copy = work / "copy.db"
        shutil.copyfile(database, copy)
        wal = database.with_name(database.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        if mend:
            fold(copy)
            _pad(copy)
            if backup is not None:
                borrow_schema(copy, backup)
            _mend_schema(copy, work)
        conn = sqlite3.connect(copy, isolation_level=None)
        conn.text_factory = _lenient_text
        try:
            yield conn
        finally:
            conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pad(copy: Path) -> None:
    """Extend a file cut short to the page count its header gives, with zeros."""
    with copy.open("r+b") as handle:
        header = handle.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return
        size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if size == 1 else size
        pages = int.from_bytes(header[28:32], "big")
        wanted = pages * page_size
        if page_size >= 512 and 0 < wanted <= 1 << 40 and handle.seek(0, 2) < wanted:
            handle.truncate(wanted)


def _reference_schema(version: int, work: Path) -> dict[str, tuple[str, str, str | None]]:
    """(type, table, sql) by name of what migrations 1..``version`` create."""
    from app.storage.migration import MIGRATIONS

    path = work / "reference.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for migration in MIGRATIONS[: max(0, min(version, len(MIGRATIONS)))]:
            for statement in migration:
                conn.execute(statement)
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
        path.unlink(missing_ok=True)
    return {str(name): (str(kind), str(table), sql) for kind, name, table, sql in rows}


def _mend_schema(copy: Path, work: Path) -> None:
    """Rewrite the schema entries that no longer parse (a flipped bit in their SQL) with the
    SQL the migrations wrote; drop entries whose name is no longer one of ours."""
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.text_factory = _lenient_text
    try:
        try:
            conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
            return  # the schema loads: nothing to mend
        except sqlite3.DatabaseError as exc:
            if "schema" not in str(exc):
                return  # page-level damage, not garbled SQL: the copy is read as it is
        conn.execute("PRAGMA writable_schema = ON")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        reference = _reference_schema(version, work)
        rows = conn.execute("SELECT rowid, type, name, tbl_name, sql FROM sqlite_master").fetchall()
        for rowid, kind, name, table, sql in rows:
            known = reference.get(str(name))
            if known is None:
                conn.execute("DELETE FROM sqlite_master WHERE rowid = ?", (rowid,))
            elif (kind, table, sql) != known:
                conn.execute(
                    "UPDATE sqlite_master SET type = ?, tbl_name = ?, sql = ? WHERE rowid = ?",
                    (*known, rowid),
                )
        conn.execute("PRAGMA writable_schema = RESET")
        logger.warning("rewrote the garbled schema of %s from the migrations", copy.name)
    except sqlite3.DatabaseError as exc:
        logger.warning("could not mend the schema: %s", exc)
    finally:
        conn.close()


def salvage(source: Path, target: Path, *, backup: Path | None = None) -> SalvageReport:
    """Build ``target`` (a new file of the current schema) from what ``source`` still holds,
    then fill in from ``backup`` (the newest backup, when there is one) the rows the damage
    took: a row already read from ``source`` wins, as the newer. Something deleted since the
    backup can come back that way; nothing the reader had at the backup is lost."""
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
        # Each table's columns in the new file, read once for the copy, the backup and the
        # indexes alike.
        schema = {name: table_info(dst, name) for name in _tables(dst)}
        with readable_copy(source, mend=True, backup=backup) as src:
            version = _version(src)
            reports = [_copy_table(src, dst, name, info) for name, info in schema.items()]
            if backup is not None:
                reports = _fill_in(dst, reports, backup, schema)
            listed: dict[str, dict[int, dict[str, Any]]] = {}
            reports = [
                _rebuild_from_indexes(src, dst, report, schema[report.name], listed)
                for report in reports
            ]
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


def _fill_in(
    dst: sqlite3.Connection,
    reports: list[TableReport],
    backup: Path,
    schema: dict[str, TableInfo],
) -> list[TableReport]:
    """Copy from ``backup`` what ``dst`` lacks; each table's report says how many came so."""
    try:
        with readable_copy(backup, mend=True) as old:
            extra = {r.name: _copy_table(old, dst, r.name, schema[r.name]) for r in reports}
    except (sqlite3.DatabaseError, OSError) as exc:
        logger.warning("could not read the backup %s: %s", backup, exc)
        return reports
    filled: list[TableReport] = []
    for report in reports:
        added = extra[report.name].copied
        note = report.note
        if added:
            note = ", ".join(filter(None, [note, f"{added} of them from {backup.name}"]))
        filled.append(TableReport(report.name, report.copied + added, report.lost, note))
    return filled


def _rebuild_from_indexes(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    report: TableReport,
    info: TableInfo,
    listed: dict[str, dict[int, dict[str, Any]]],
) -> TableReport:
    """Add the rows that neither the table's pages nor the backup gave but its indexes still
    list (:func:`app.storage.rebuild.from_indexes`), and say so in the table's report."""
    table = report.name
    counts = from_indexes(src, dst, table, listed, _insert, info)
    if counts is None:
        return report
    rebuilt, unplaced, short = counts
    if not rebuilt and not short:
        return report
    notes = [report.note]
    if rebuilt:
        notes.append(f"{rebuilt} rebuilt from its indexes")
    if unplaced:
        notes.append(f"{unplaced} of them in no known screen ('{LOST_SESSION}')")
    if short:
        notes.append(f"{short} more its indexes list, with too little left to rebuild them")
    lost = max(report.lost - rebuilt, short)  # the indexes list at least these
    return TableReport(table, report.copied + rebuilt, lost, ", ".join(filter(None, notes)))


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


def _copy_table(
    src: sqlite3.Connection, dst: sqlite3.Connection, table: str, info: TableInfo
) -> TableReport:
    """Copy one table, whose :func:`table_info` in ``dst`` is ``info``: a scan while it
    reads, then row by row past the first failure."""
    try:
        present = {str(row[1]) for row in table_info(src, table)}
    except sqlite3.DatabaseError as exc:
        return TableReport(table, 0, 0, f"its definition is unreadable: {exc}")
    if not present:
        return TableReport(table, 0, 0, "not in the damaged file")
    columns = [str(row[1]) for row in info if str(row[1]) in present]
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
    """Read the rows after rowid ``last`` one by one; a row that fails to read is lost. Where
    the table's largest rowid cannot be read, rowids are probed :data:`PROBE_WINDOW` past it,
    and failures past the last row read are not counted: how many rows they held is unknown."""
    start = (last or 0) + 1
    bounded = True
    try:
        top = src.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]  # noqa: S608 (names from our own schema)
        high = int(top) if top is not None else start - 1
        note = "read row by row past a damaged page"
    except sqlite3.DatabaseError:
        high, bounded = start + PROBE_WINDOW, False
    added = failed = 0
    found = start - 1
    misses: list[int] = []
    rows: list[Sequence[Any]] = []
    for rowid in range(start, high + 1):
        try:
            row = src.execute(f'SELECT {names} FROM "{table}" WHERE rowid = ?', (rowid,)).fetchone()  # noqa: S608 (names from our own schema)
        except sqlite3.DatabaseError:
            misses.append(rowid)
            continue
        if row is not None:
            rows.append(row)
            found = rowid
        if len(rows) >= BATCH:
            ok, bad = _insert(dst, insert, rows)
            added, failed, rows = added + ok, failed + bad, []
    ok, bad = _insert(dst, insert, rows)
    if bounded:
        failed += len(misses)
    else:
        failed += sum(rowid < found for rowid in misses)
        note = (
            f"read row by row; its last rowid is unreadable, and rowids past {found} could not "
            f"be read (probed up to {high})"
        )
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
