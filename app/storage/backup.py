"""Rolling backups of the profile database, taken with SQLite's online backup API.

A backup is a consistent copy even while other connections read or write (the API copies
pages under SQLite's own locks, WAL content included). One is taken each day the profile is
opened and one before every schema migration; the newest :data:`KEEP` of each kind are kept
in the profile's ``backups`` folder as ``heedful-<UTC time>-<kind>.db``. A backup is written
to a temporary name, synced, then renamed, so a power cut never leaves half a backup under a
backup's name. A backup being a page-for-page copy, it can also give a damaged file back the
pages of its schema (:func:`borrow_schema`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

KEEP = 3
"""How many backups of each kind (daily, before a migration) are kept."""
DAILY = "daily"
PREFIX = "heedful-"
SUFFIX = ".db"
_STAMP = "%Y%m%dT%H%M%SZ"


def _name(now: datetime, kind: str) -> str:
    return f"{PREFIX}{now.astimezone(UTC).strftime(_STAMP)}-{kind}{SUFFIX}"


def _kind(path: Path) -> str:
    return path.stem.removeprefix(PREFIX).partition("-")[2]


def _when(path: Path) -> datetime | None:
    stamp = path.stem.removeprefix(PREFIX).partition("-")[0]
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def backups(folder: Path) -> list[Path]:
    """The backups in ``folder``, newest first (none when it is missing)."""
    try:
        found = [p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file() and _when(p)]
    except OSError:
        return []
    return sorted(found, key=lambda p: (_when(p), p.name), reverse=True)


def take(database: Path, folder: Path, kind: str, now: datetime | None = None) -> Path:
    """Copy ``database`` into ``folder`` as a backup of ``kind``; prune that kind to
    :data:`KEEP`; returns the new file. Raises OSError or sqlite3.Error when it cannot."""
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _name(now, kind)
    partial = target.with_name(target.name + ".partial")
    try:
        _copy(database, partial)
        partial.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    _sync_folder(folder)
    for old in [p for p in backups(folder) if _kind(p) == kind][KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
    logger.info("backed up %s to %s", database.name, target)
    return target


def _copy(database: Path, partial: Path) -> None:
    """Copy ``database`` into the new file ``partial`` page by page, then sync it."""
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())


def daily_due(folder: Path, now: datetime | None = None) -> bool:
    """Whether no daily backup is younger than a day."""
    now = now or datetime.now(UTC)
    for path in backups(folder):
        when = _when(path)
        if _kind(path) == DAILY and when is not None and now - when < timedelta(days=1):
            return False
    return True


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def borrow_schema(copy: Path, backup: Path) -> None:
    """Put the lost pages of ``copy``'s schema (the b-tree under page 1) back from ``backup``.

    ``copy`` is a private copy of a damaged file, padded to its full size. Only pages that
    the copy's schema tree points to, that are lost (all zeros) and that the backup's own
    schema tree holds at the same place are taken, and only from a backup of the same schema
    version and page size: a backup is a page-for-page copy, so its schema pages are the
    file's own as long as no migration ran since. Without them nothing of the file could be
    read, though every table's pages may be intact."""
    try:
        with copy.open("r+b") as mine, backup.open("rb") as theirs:
            head, old = mine.read(100), theirs.read(100)
            if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
                return
            if old[:18] != head[:18] or old[60:64] != head[60:64]:
                return  # not a backup of this schema version and page size
            size = int.from_bytes(head[16:18], "big")
            page_size = 65536 if size == 1 else size
            theirs_tree = set(_schema_pages(theirs, page_size))
            borrowed: set[int] = set()
            while True:
                lost = [
                    n
                    for n in _schema_pages(mine, page_size)
                    if n > 1
                    and n in theirs_tree
                    and n not in borrowed
                    and not any(_page(mine, n, page_size))
                ]
                if not lost:
                    break
                for number in lost:
                    mine.seek((number - 1) * page_size)
                    mine.write(_page(theirs, number, page_size))
                    borrowed.add(number)
    except OSError as exc:
        logger.warning("could not read the schema of %s: %s", backup.name, exc)
        return
    if borrowed:
        logger.warning("took %d lost schema pages from %s", len(borrowed), backup.name)


def _page(handle: BinaryIO, number: int, page_size: int) -> bytes:
    handle.seek((number - 1) * page_size)
    return handle.read(page_size)


def _schema_pages(handle: BinaryIO, page_size: int) -> list[int]:
    """The pages of the schema b-tree of the open database file (page 1 and those below it;
    a page that is not a b-tree page is listed, but nothing below it)."""
    found: list[int] = []
    todo = [1]
    while todo and len(found) < 10_000:
        number = todo.pop()
        if number in found or number < 1:
            continue
        found.append(number)
        page = _page(handle, number, page_size)
        head = 100 if number == 1 else 0
        if len(page) < page_size or page[head] != 0x05:  # a leaf, or not a b-tree page
            continue
        todo.append(int.from_bytes(page[head + 8 : head + 12], "big"))
        for cell in range(int.from_bytes(page[head + 3 : head + 5], "big")):
            at = int.from_bytes(page[head + 12 + 2 * cell : head + 14 + 2 * cell], "big")
            todo.append(int.from_bytes(page[at : at + 4], "big"))
    return found
