"""Checking a profile's database in full, and rebuilding it when it is damaged or lost.

``check`` runs SQLite's full ``integrity_check`` and ``foreign_key_check`` on a copy of the
file (so that not even a checkpoint writes into it) and says what it found. ``recover`` holds
the profile lock, rebuilds a fresh database from what the damaged file still holds
(:func:`app.storage.salvage.salvage`; from the newest backup when the file is missing, empty
or yields nothing, and with the rows the damage took filled in from that backup), moves the
damaged file aside as ``heedful.damaged-<time>.db`` (never deleting it) and puts the rebuilt
one in its place.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.services.profile import ProfilePaths, _acquire_lock, _release_lock, database_missing
from app.storage import backup
from app.storage.database import Database, StorageError
from app.storage.salvage import SalvageReport, readable_copy, salvage

log = logging.getLogger(__name__)

_COUNTED = ("feeds", "articles", "clicks", "impressions", "feedback")


class RepairError(StorageError):
    """A check or recovery that could not be done; the message is for the reader."""


@dataclass(frozen=True)
class Health:
    """What the full check found: ``problems`` is empty for a sound file."""

    path: Path
    problems: tuple[str, ...]
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Recovery:
    """What a recovery did: the database rebuilt, where it read from, what it copied, and
    where the old file went."""

    database: Path
    source: Path
    report: SalvageReport
    moved_aside: tuple[Path, ...]


def check(root: Path) -> Health:
    """The full integrity check of the profile's database (read through a private copy)."""
    paths = ProfilePaths(root.expanduser().resolve())
    if database_missing(paths):
        saved = backup.backups(paths.backups)
        hint = f"; the newest backup is {saved[0]}" if saved else ""
        return Health(paths.database, (f"the database is missing or empty{hint}",), {})
    problems: list[str] = []
    counts: dict[str, int] = {}
    try:
        with readable_copy(paths.database) as conn:
            problems += [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
            if problems == ["ok"]:
                problems = [
                    f"{r[0]} row {r[1]} refers to a missing {r[2]} row"
                    for r in conn.execute("PRAGMA foreign_key_check")
                ][:20]
                for table in _COUNTED:
                    query = f'SELECT count(*) FROM "{table}"'  # noqa: S608 (a fixed name)
                    counts[table] = int(conn.execute(query).fetchone()[0])
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    except OSError as exc:
        raise RepairError(f"cannot read {paths.database}: {exc.strerror or exc}") from exc
    return Health(paths.database, tuple(problems), counts)


def recover(root: Path, *, force: bool = False) -> Recovery:
    """Rebuild the profile's database from what can still be read; see the module docstring.

    Refuses (RepairError) while another window or command holds the profile, and for a sound
    database unless ``force``.
    """
    paths = ProfilePaths(root.expanduser().resolve())
    if not paths.root.is_dir():
        raise RepairError(f"there is no profile at {paths.root}")
    lock = _acquire_lock(paths.lock)
    try:
        return _recover(paths, force)
    finally:
        _release_lock(lock)


def _recover(paths: ProfilePaths, force: bool) -> Recovery:
    saved = backup.backups(paths.backups)
    missing = database_missing(paths)
    if not missing and not force and check(paths.root).ok:
        raise RepairError(
            f"{paths.database} passed the full integrity check: there is nothing to recover "
            "(add --force to rebuild it anyway)"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = paths.root / f".heedful.recovering-{stamp}.db"
    sources = ([] if missing else [paths.database]) + saved
    report: SalvageReport | None = None
    source = paths.database
    for source in sources:
        _discard(target)
        newest = next((b for b in saved if b != source), None)
        try:
            report = salvage(source, target, backup=newest if source == paths.database else None)
        except (sqlite3.DatabaseError, OSError) as exc:
            log.warning("could not rebuild from %s: %s", source, exc)
            continue
        if report.copied:
            break
        log.warning("%s held nothing readable; trying the next source", source)
    if report is None:
        _discard(target)
        if sources:
            raise RepairError(
                f"nothing could be read from {paths.database} or its backups; "
                "they are left as they are"
            )
        Database(target, check=False).close()  # asked for: no file and no backup to read
        report = SalvageReport((), None)
    moved = _move_aside(paths.database, stamp)
    target.replace(paths.database)
    _sync(paths.root)
    log.info("recovered %s from %s: %d rows", paths.database, source, report.copied)
    return Recovery(paths.database, source if sources else paths.database, report, moved)


def _move_aside(database: Path, stamp: str) -> tuple[Path, ...]:
    """Rename the damaged file and its WAL and shared-memory files; never delete them."""
    moved: list[Path] = []
    for suffix in ("", "-wal", "-shm"):
        old = database.with_name(database.name + suffix)
        if not old.exists():
            continue
        new = database.with_name(f"heedful.damaged-{stamp}.db{suffix}")
        old.rename(new)
        moved.append(new)
    return tuple(moved)


def _discard(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _sync(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)
