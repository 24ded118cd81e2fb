"""Rolling backups of the profile database, taken with SQLite's online backup API.

A backup is a consistent copy even while other connections read or write (the API copies
pages under SQLite's own locks, WAL content included). One is taken each day the profile is
opened and one before every schema migration; the newest :data:`KEEP` of each kind are kept
in the profile's ``backups`` folder as ``heedful-<UTC time>-<kind>.db``. A backup is written
to a temporary name, synced, then renamed, so a power cut never leaves half a backup under a
backup's name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
