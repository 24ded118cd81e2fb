"""A reader's profile: one folder holding the database, model checkpoints and caches."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from platformdirs import user_cache_dir, user_data_dir

from app.storage import backup
from app.storage.database import Database, ProfileLockedError, StorageError

log = logging.getLogger(__name__)

ENV_HOME = "HEEDFUL_HOME"


def default_data_dir() -> Path:
    """The profile folder: $HEEDFUL_HOME when set, else the platform's per-user data folder."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("Heedful", appauthor=False))


@dataclass(frozen=True)
class ProfilePaths:
    """Where each part of a profile lives."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "heedful.db"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def lock(self) -> Path:
        return self.root / "heedful.lock"

    @property
    def backups(self) -> Path:
        """Rolling copies of the database (:mod:`app.storage.backup`)."""
        return self.root / "backups"

    @property
    def glove(self) -> Path:
        """GloVe's word cache: the platform's per-user cache folder for the default profile;
        inside the profile for one kept elsewhere (``--data-dir``), so that it travels with it."""
        if self.root == Path(user_data_dir("Heedful", appauthor=False)).resolve():
            return Path(user_cache_dir("Heedful", appauthor=False))
        return self.cache / "glove"


class MissingDatabaseError(StorageError):
    """The database is missing or empty in a profile that has models or backups."""


def database_missing(paths: ProfilePaths) -> bool:
    """Whether the profile has no database yet, or an empty file where it should be."""
    try:
        return paths.database.stat().st_size == 0
    except FileNotFoundError:
        return True


def refuse_missing(paths: ProfilePaths) -> None:
    """Raise MissingDatabaseError when the database is missing or empty beside models or
    backups: that is a profile that lost its database, not a new one, and opening it would
    silently start afresh."""
    if not database_missing(paths):
        return
    saved = backup.backups(paths.backups)
    try:
        models = sorted(paths.models.glob("*.pt"))
    except OSError:
        models = []
    if not saved and not models:
        return
    held = f"{len(saved)} backups" if saved else f"{len(models)} trained models"
    way = (
        f"run 'heedful --data-dir {paths.root} recover' to restore the newest backup "
        f"({saved[0].name})"
        if saved
        else f"run 'heedful --data-dir {paths.root} recover' to start an empty database "
        "knowingly, or move the folder aside to start a new profile"
    )
    raise MissingDatabaseError(
        f"The database {paths.database} is missing or empty, but the profile holds {held}: "
        f"it is not a new profile, so nothing was created. To go on, {way}."
    )


class Profile:
    """An open profile. Holds an exclusive lock so that two processes never write to it at once.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, root: Path, *, busy_timeout_ms: int = 5000, locked: bool = True) -> None:
        """Open the profile at ``root``. ``locked=False`` is for our own helper processes: they
        work on a profile that the process that started them holds locked."""
        self.paths = ProfilePaths(root.expanduser().resolve())
        try:
            self.paths.root.mkdir(parents=True, exist_ok=True)
            self.paths.models.mkdir(exist_ok=True)
            self.paths.cache.mkdir(exist_ok=True)
        except OSError as exc:
            where = Path(exc.filename) if exc.filename else self.paths.root
            why = "it is a file, not a folder" if where.is_file() else exc.strerror
            raise ProfileLockedError(f"cannot create the profile folder {where}: {why}") from exc
        self._lock_file = _acquire_lock(self.paths.lock) if locked else None
        try:
            new = database_missing(self.paths)
            if locked:
                refuse_missing(self.paths)
            self.db = Database(
                self.paths.database,
                busy_timeout_ms=busy_timeout_ms,
                check=locked,  # helpers open a profile their parent checked
                backup_dir=self.paths.backups if locked else None,
            )
        except BaseException:
            if self._lock_file is not None:
                _release_lock(self._lock_file)
            raise
        if locked and not new:
            self._daily_backup()
        if locked:
            from app.services.credential import move_passwords

            move_passwords(self.db)  # older versions stored passwords inside addresses
        log.info("opened profile %s (schema %d)", self.paths.root, self.db.schema_version)

    def _daily_backup(self) -> None:
        """Take the day's backup if none is younger than a day; a failure is only logged (the
        reader's work goes on, and the next open tries again)."""
        if not backup.daily_due(self.paths.backups):
            return
        try:
            backup.take(self.paths.database, self.paths.backups, backup.DAILY)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not back up %s: %s", self.paths.database, exc)

    def close(self) -> None:
        """Close the database and release the profile lock."""
        self.db.close()
        if self._lock_file is not None:
            _release_lock(self._lock_file)

    def __enter__(self) -> Profile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _acquire_lock(path: Path) -> IO[str]:
    """Take an exclusive, non-blocking lock on ``path``; refuse when another process holds it."""
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:  # a read-only lock file, a folder in its place
        raise ProfileLockedError(
            f"cannot open the profile's lock file {path}: {exc.strerror or exc}"
        ) from exc
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise ProfileLockedError(
            f"the profile {path.parent} is already open in another Heedful window or command"
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _release_lock(handle: IO[str]) -> None:
    if handle.closed:
        return
    if sys.platform != "win32":
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    handle.close()
