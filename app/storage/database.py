"""The profile database: a SQLite file in WAL mode, opened and upgraded in one place.

Use one session per unit of work per thread::

    db = Database(profile / "heedful.sqlite")
    with db.write() as s:          # BEGIN IMMEDIATE; commit on success
        add_feed(s, "https://example.org/feed.xml")
    with db.read() as s:           # deferred BEGIN; never commits
        feeds = list_feeds(s)

Known failures (locked, disk full, damaged file, newer schema) become StorageError
with a message meant for the reader; anything else is a bug and propagates as is.

Opening runs ``PRAGMA quick_check`` first: a damaged file is refused with one line that names
it and the way out (``recover``), before anything (a migration, a click) can write into it.
Text that a flipped bit made invalid UTF-8 reads with U+FFFD in place of the bad bytes rather
than failing the whole query.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from app.storage import backup
from app.storage.error import HeedfulError
from app.storage.migration import SCHEMA_VERSION, NewerSchemaError, upgrade

logger = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5000
_BEGIN_OPTION = "heedful_begin"


class StorageError(HeedfulError):
    """A known storage failure, told to the reader in words (locked, disk full, corrupt)."""


class ProfileLockedError(StorageError):
    """The profile database stayed locked by another connection past the busy timeout."""


class NotFoundError(StorageError):
    """The feed or article asked for does not exist (any more)."""


class DamagedDatabaseError(StorageError):
    """The database file is damaged; the message names it and the way out."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(damaged_message(path, detail))
        self.path = path
        self.detail = detail


def damaged_message(path: Path, detail: str) -> str:
    """One line for a damaged database: which file, what SQLite said, and what to do."""
    root = path.parent
    detail = " ".join(str(detail).split())[:200]
    return (
        f"The database {path} is damaged ({detail}). Nothing was changed. Run "
        f"'heedful --data-dir {root} recover' to rebuild it from what can still be read "
        f"(the damaged file is kept), or see 'heedful --data-dir {root} check'."
    )


def _lenient_text(raw: bytes) -> str:
    """TEXT as str; bytes that are not UTF-8 (a flipped bit) become U+FFFD."""
    return raw.decode("utf-8", "replace")


def storage_error(exc: BaseException, path: Path) -> StorageError | None:
    """Translate a known SQLite failure into a StorageError, or return None for a bug."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, sqlite3.DatabaseError) or isinstance(orig, sqlite3.IntegrityError):
        return None
    message = str(orig).lower()
    if "locked" in message or "busy" in message:
        return ProfileLockedError(
            f"The database {path} is locked by another program (is Heedful already running?)."
            " Try again in a moment."
        )
    if "disk is full" in message or "disk i/o error" in message:
        return StorageError(
            f"Could not write the database {path}: the disk is full or failing ({orig})."
        )
    if "malformed" in message or "not a database" in message or "corrupt" in message:
        return DamagedDatabaseError(path, str(orig))
    if "unable to open" in message or "readonly" in message or "read-only" in message:
        return StorageError(f"Cannot open the database {path} for writing ({orig}).")
    return None


@contextmanager
def savepoint(s: Session) -> Iterator[None]:
    """A savepoint in the session's transaction: what the block writes is rolled back alone
    when it raises (and the exception goes on), else kept in the transaction.

    Statements on the driver, not ``Session.begin_nested``, whose bookkeeping (compiling the
    savepoint statements, a nested session transaction and its snapshot) cost a refresh about
    0.15 ms of CPU for each feed it stores, 12 % of storing a 50-entry first fetch. The block
    must write through the session's connection (Core statements) or flush what it changes
    through the ORM: after a rollback every object the session holds is expired, so that none
    keeps a value the rollback undid."""
    connection = s.connection()
    connection.exec_driver_sql("SAVEPOINT heedful_part")
    try:
        yield
    except BaseException:
        connection.exec_driver_sql("ROLLBACK TO heedful_part")
        connection.exec_driver_sql("RELEASE heedful_part")
        s.expire_all()
        raise
    connection.exec_driver_sql("RELEASE heedful_part")


class Database:
    """One profile's SQLite database, shared by all threads of the process.

    The constructor creates the parent folder, opens the file, checks it (``check``: PRAGMA
    quick_check; DamagedDatabaseError when it fails) and applies any pending migrations,
    after a backup into ``backup_dir`` when one is given. ``busy_timeout_ms`` is how long a
    statement waits for another connection's lock before ProfileLockedError.
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        check: bool = True,
        backup_dir: Path | None = None,
    ) -> None:
        self._path = Path(path)
        self._busy_timeout_ms = max(0, int(busy_timeout_ms))
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the profile folder {self._path.parent}: {exc}"
            ) from exc
        self._engine = self._create_engine()
        self._write_engine = self._engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._read_sessions = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._closed = False
        try:
            if check:
                self._quick_check()
            if backup_dir is not None:
                self._backup_before_migration(backup_dir)
            self._schema_version = upgrade(self._engine, self._write_engine)
        except NewerSchemaError as exc:
            self._engine.dispose()
            raise StorageError(f"Cannot open {self._path}: {exc}.") from exc
        except DBAPIError as exc:
            self._engine.dispose()
            known = storage_error(exc, self._path)
            if known is None:
                raise
            raise known from exc
        except BaseException:
            self._engine.dispose()
            raise
        logger.info("opened %s (schema version %d)", self._path, self._schema_version)

    def _quick_check(self) -> None:
        """Refuse a damaged file before anything writes into it (PRAGMA quick_check: the
        b-tree structure and page bookkeeping, without the cost of comparing indexes).

        Where the file has a write-ahead log, the check runs on a read-only connection of its
        own: a read-write one, closing as the file's last connection, would checkpoint the
        log into the damaged file and delete the log, and with it the older frames that
        ``recover`` reads lost pages from. Where there is no log (nothing to lose that way),
        or a read-only connection cannot be had, the engine's connection is used."""
        if not self._path.exists():
            return  # a new file: nothing to check
        conn: sqlite3.Connection | None = None
        with suppress(OSError, sqlite3.OperationalError):
            if self._path.with_name(self._path.name + "-wal").stat().st_size:
                conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True)
        if conn is None:
            problems = self._engine_check()
        else:
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
                problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")]
            except sqlite3.DatabaseError as exc:
                if "unable to open" not in str(exc):
                    known = storage_error(exc, self._path)
                    if known is None:
                        raise
                    raise known from exc
                problems = self._engine_check()
            finally:
                conn.close()
        if problems != ["ok"]:
            logger.error("%s failed its integrity check: %s", self._path, problems)
            raise DamagedDatabaseError(self._path, "; ".join(problems))

    def _engine_check(self) -> list[str]:
        with self._engine.connect() as conn:
            problems = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(3)")]
            conn.rollback()
        return problems

    def _backup_before_migration(self, folder: Path) -> None:
        """Back the file up when a migration is about to change it (not a new, empty one)."""
        with self._engine.connect() as conn:
            found = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
            conn.rollback()
        if not 0 < found < SCHEMA_VERSION:
            return
        try:
            backup.take(self._path, folder, f"before-v{SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"Could not back up {self._path} before upgrading it ({exc}); nothing was changed."
            ) from exc

    def _create_engine(self) -> Engine:
        """Build the engine: pysqlite's transaction handling off, pragmas on connect."""
        engine = create_engine(
            f"sqlite:///{self._path}",
            connect_args={
                "check_same_thread": False,
                "timeout": self._busy_timeout_ms / 1000,
            },
            pool_size=5,
            max_overflow=10,
        )
        busy = self._busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.text_factory = _lenient_text
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {int(busy)}")
                cursor.execute("PRAGMA foreign_keys = ON")
                cursor.execute("PRAGMA journal_mode = WAL")
                # FULL: each commit syncs the write-ahead log, so a click or star the
                # program said it saved survives a power cut (NORMAL may lose the last ones).
                cursor.execute("PRAGMA synchronous = FULL")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version after migrations (``PRAGMA user_version``)."""
        return self._schema_version

    @property
    def busy_timeout_ms(self) -> int:
        """How long a statement waits for another connection's lock."""
        return self._busy_timeout_ms

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading, in one deferred transaction that is rolled back at the end."""
        with self._session(self._read_sessions, commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one ``BEGIN IMMEDIATE`` transaction; commit on success, else rollback."""
        with self._session(self._write_sessions, commit=True) as session:
            yield session

    @contextmanager
    def _session(self, factory: sessionmaker[Session], *, commit: bool) -> Iterator[Session]:
        if self._closed:
            raise StorageError(f"The database {self._path} is closed.")
        session = factory()
        try:
            yield session
            if commit:
                session.commit()
        except DBAPIError as exc:
            with suppress(DBAPIError):
                session.rollback()
            known = storage_error(exc, self._path)
            if known is None:
                raise
            logger.warning("storage failure on %s: %s", self._path, exc.orig)
            raise known from exc
        except BaseException:
            with suppress(DBAPIError):
                session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        """Optimise the query planner's statistics and close every pooled connection."""
        if self._closed:
            return
        self._closed = True
        with suppress(DBAPIError), self._engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA optimize")
            conn.rollback()
        self._engine.dispose()
        logger.info("closed %s", self._path)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
