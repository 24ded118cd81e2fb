"""Schema versions: a fresh profile, an upgrade from version 1, and failures."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from app.storage import migration
from app.storage.articles import get_article, list_articles, purge_old, upsert_articles
from app.storage.database import Database
from app.storage.events import click_history
from app.storage.feeds import list_feeds
from app.storage.schema import Base
from tests.unit.storage.sample import NOW, item


def _version_1_profile(path: Path) -> None:
    """A profile as version 1 of the program left it, with some data in it."""
    raw = sqlite3.connect(path, isolation_level=None)
    for statement in migration.MIGRATIONS[0]:
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 1")
    raw.execute(
        "INSERT INTO feeds (id, url, title, title_auto, created) "
        "VALUES (1, 'https://example.org/feed.xml', 'Old news', 0, '2025-01-01 00:00:00.000000')"
    )
    for n, (read, published) in enumerate(
        [(1, "2025-01-02 08:00:00.000000"), (0, "2025-06-01 08:00:00.000000")], start=1
    ):
        raw.execute(
            "INSERT INTO articles (id, feed_id, dedup_key, title, summary_text, published, "
            "fetched, read) VALUES (?, 1, ?, ?, 'volcanic ash over the harbour', ?, ?, ?)",
            (n, f"key{n}", f"Eruption day {n}", published, published, read),
        )
    raw.execute(
        "INSERT INTO clicks (article_id, session, time, dwell) "
        "VALUES (2, 's1', '2025-06-01 09:00:00.000000', 12.5)"
    )
    raw.close()


def _schema(path: Path) -> dict[str, set[str]]:
    raw = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: {row[1] for row in raw.execute(f"PRAGMA table_info({name})")} for name in names
        }
    finally:
        raw.close()


def test_fresh_profile_has_the_current_version(db: Database) -> None:
    assert db.schema_version == len(migration.MIGRATIONS) == migration.SCHEMA_VERSION >= 2
    raw = sqlite3.connect(db.path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == db.schema_version
    raw.close()


def test_models_match_the_migrated_schema(db: Database) -> None:
    schema = _schema(db.path)
    for name, table in Base.metadata.tables.items():
        assert schema[name] == {c.name for c in table.columns}, name
    raw = sqlite3.connect(db.path)
    indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    raw.close()
    model_indexes = {i.name for t in Base.metadata.tables.values() for i in t.indexes}
    assert model_indexes <= indexes


def test_version_1_profile_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _version_1_profile(path)
    assert "tombstones" not in _schema(path)
    with Database(path) as db:
        assert db.schema_version == len(migration.MIGRATIONS)
        with db.read() as s:
            [feed] = list_feeds(s)
            assert (feed.title, feed.unread, feed.total) == ("Old news", 1, 2)
            old = get_article(s, 1)
            assert old is not None and old.read and old.published is not None
            assert old.published.isoformat() == "2025-01-02T08:00:00+00:00"
            assert [c.article_id for c in click_history(s)] == [2]
            # the search index was built over the articles that were already there
            assert {a.id for a in list_articles(s, search="volcanic")} == {1, 2}
        with db.write() as s:
            # article 1 was read before read_at existed: its window starts at the first purge
            assert purge_old(s, NOW, 30) == 0
            assert purge_old(s, NOW + timedelta(days=31), 30) == 1
            again = upsert_articles(s, 1, [item("key1"), item("key3")], NOW)
            assert again.new == 1  # key1 is tombstoned, key3 is new
    with Database(path) as db, db.read() as s:
        assert db.schema_version == len(migration.MIGRATIONS)
        assert sorted(a.id for a in list_articles(s)) == [2, again.new_ids[0]]


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    for _ in range(3):
        with Database(path) as db:
            assert db.schema_version == len(migration.MIGRATIONS)


def test_failed_migration_leaves_the_profile_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.sqlite"
    Database(path).close()
    broken = ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL")
    monkeypatch.setattr(migration, "MIGRATIONS", (*migration.MIGRATIONS, broken))
    with pytest.raises(OperationalError):
        Database(path)
    assert "half_done" not in _schema(path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == migration.SCHEMA_VERSION
    raw.close()
