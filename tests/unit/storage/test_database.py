"""The engine's settings, transactions, threads and the failures told to users."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text, update

from app.storage.database import (
    DamagedDatabaseError,
    Database,
    ProfileLockedError,
    StorageError,
    savepoint,
    storage_error,
)
from app.storage.feeds import add_feed, list_feeds
from app.storage.migration import SCHEMA_VERSION
from app.storage.schema import Feed


def test_creates_parent_folder_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "heedful.sqlite"
    with Database(path) as db:
        assert db.path == path
        assert path.exists()
        assert db.schema_version == SCHEMA_VERSION


def test_pragmas_on_every_connection(db: Database) -> None:
    with db.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_busy_timeout_is_configurable(tmp_path: Path) -> None:
    with Database(tmp_path / "db.sqlite", busy_timeout_ms=250) as db, db.read() as s:
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 250


def test_write_commits_and_error_rolls_back(db: Database) -> None:
    with db.write() as s:
        add_feed(s, "https://example.org/kept.xml")
    with pytest.raises(RuntimeError), db.write() as s:
        add_feed(s, "https://example.org/lost.xml")
        raise RuntimeError("boom")
    with db.read() as s:
        assert [f.url for f in list_feeds(s)] == ["https://example.org/kept.xml"]


def test_read_session_never_commits(db: Database) -> None:
    with db.read() as s:
        add_feed(s, "https://example.org/feed.xml")
    with db.read() as s:
        assert list_feeds(s) == []


def test_write_takes_the_write_lock_at_begin(db: Database) -> None:
    other = sqlite3.connect(db.path, timeout=0, isolation_level=None)
    try:
        with db.write() as s:
            s.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_two_threads_writing_at_once_both_succeed(db: Database) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=5)
            with db.write() as s:
                add_feed(s, f"https://example.org/{n}.xml")
                time.sleep(0.15)
                add_feed(s, f"https://example.org/{n}-b.xml")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    with db.read() as s:
        assert len(list_feeds(s)) == 4


def test_reader_is_not_blocked_by_a_writer(db: Database) -> None:
    with db.write() as s:
        add_feed(s, "https://example.org/a.xml")
    with db.write() as w:
        add_feed(w, "https://example.org/b.xml")
        w.flush()
        with db.read() as r:
            assert [f.url for f in list_feeds(r)] == ["https://example.org/a.xml"]


def test_lock_held_too_long_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with Database(path, busy_timeout_ms=100) as db:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ProfileLockedError, match="locked"), db.write() as s:
                add_feed(s, "https://example.org/feed.xml")
        finally:
            other.execute("ROLLBACK")
            other.close()
        with db.write() as s:
            add_feed(s, "https://example.org/feed.xml")
        assert issubclass(ProfileLockedError, StorageError)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Database(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StorageError, match=r"schema version \d+.*upgrade"):
        Database(path)


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"\x00" * 4096])
def test_garbage_file_is_a_storage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(content)
    with pytest.raises(StorageError, match="damaged"):
        Database(path)


def test_unusable_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="profile folder"):
        Database(blocker / "db.sqlite")


def test_closed_database_refuses_sessions(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite")
    db.close()
    db.close()
    with pytest.raises(StorageError, match="closed"), db.read():
        pass


@pytest.mark.parametrize(
    ("message", "kind", "words"),
    [
        ("database is locked", ProfileLockedError, "locked"),
        ("database or disk is full", StorageError, "disk is full"),
        ("disk I/O error", StorageError, "disk is full or failing"),
        ("database disk image is malformed", DamagedDatabaseError, "damaged"),
        ("unable to open database file", StorageError, "Cannot open"),
        ("attempt to write a readonly database", StorageError, "Cannot open"),
    ],
)
def test_known_sqlite_failures_are_told_in_words(
    tmp_path: Path, message: str, kind: type[StorageError], words: str
) -> None:
    error = storage_error(sqlite3.OperationalError(message), tmp_path / "db.sqlite")
    assert type(error) is kind
    assert words in str(error)


@pytest.mark.parametrize(
    "error",
    [sqlite3.OperationalError("no such table: x"), sqlite3.IntegrityError("locked"), ValueError()],
)
def test_bugs_are_not_storage_errors(tmp_path: Path, error: Exception) -> None:
    assert storage_error(error, tmp_path / "db.sqlite") is None


def test_a_savepoint_rolls_back_its_block_alone_and_forgets_what_it_undid(db: Database) -> None:
    """A refresh stores each feed in a savepoint: one that raises leaves the transaction's
    other writes, and no object of the session keeps a value the rollback undid."""
    with db.write() as s:
        kept = add_feed(s, "https://a.example/rss")
        doomed = add_feed(s, "https://b.example/rss")
    with db.write() as s:
        loaded = s.get(Feed, doomed.id)
        assert loaded is not None
        with savepoint(s):
            s.execute(update(Feed).where(Feed.id == kept.id).values(error_count=1))
        with pytest.raises(RuntimeError), savepoint(s):
            loaded.error_count = 5
            s.flush()
            s.execute(update(Feed).where(Feed.id == kept.id).values(error_count=9))
            raise RuntimeError("a bug halfway")
        assert loaded.error_count == 0, "read again after the rollback, not the undone 5"
        with savepoint(s):
            add_feed(s, "https://c.example/rss")
    with db.read() as s:
        counts = {f.url: f.error_count for f in list_feeds(s)}
    assert counts == {kept.url: 1, doomed.url: 0, "https://c.example/rss": 0}
