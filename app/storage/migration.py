"""Schema migrations: an append-only list; ``PRAGMA user_version`` counts those applied.

Each migration is frozen SQL, never derived from the current models, so that an old
profile is upgraded exactly as it was built. Never edit or reorder a migration that
has shipped: append a new one. All pending migrations run in one ``BEGIN IMMEDIATE``
transaction, so a failure leaves the profile as it was and two processes opening the
same profile cannot both upgrade it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from app.storage.error import HeedfulError

logger = logging.getLogger(__name__)

Migration = Sequence[str]
"""One migration: SQL statements run in order inside the upgrade transaction."""

_V1_BASE: Migration = (
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        title_auto INTEGER NOT NULL DEFAULT 1 CHECK (title_auto IN (0, 1)),
        site_url TEXT,
        folder TEXT,
        etag TEXT,
        last_modified TEXT,
        last_fetch DATETIME,
        next_fetch DATETIME,
        error_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        update_interval INTEGER NOT NULL DEFAULT 1800,
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        created DATETIME NOT NULL
    )
    """,
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        dedup_key TEXT NOT NULL,
        url TEXT,
        title TEXT NOT NULL DEFAULT '',
        summary_html TEXT NOT NULL DEFAULT '',
        summary_text TEXT NOT NULL DEFAULT '',
        author TEXT,
        published DATETIME,
        fetched DATETIME NOT NULL,
        updated DATETIME,
        read INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
        starred INTEGER NOT NULL DEFAULT 0 CHECK (starred IN (0, 1))
    )
    """,
    "CREATE UNIQUE INDEX ux_articles_feed_key ON articles (feed_id, dedup_key)",
    "CREATE INDEX ix_articles_feed_read ON articles (feed_id, read, coalesce(published, fetched))",
    "CREATE INDEX ix_articles_read ON articles (read, coalesce(published, fetched))",
    "CREATE INDEX ix_articles_starred ON articles (starred)",
    "CREATE INDEX ix_articles_time ON articles (coalesce(published, fetched))",
    """
    CREATE TABLE impressions (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        session TEXT NOT NULL,
        time DATETIME NOT NULL,
        position INTEGER
    )
    """,
    "CREATE UNIQUE INDEX ux_impressions_session_article ON impressions (session, article_id)",
    "CREATE INDEX ix_impressions_time ON impressions (time)",
    "CREATE INDEX ix_impressions_article ON impressions (article_id)",
    """
    CREATE TABLE clicks (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        session TEXT NOT NULL,
        time DATETIME NOT NULL,
        dwell REAL
    )
    """,
    "CREATE INDEX ix_clicks_article ON clicks (article_id)",
    """
    CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        created DATETIME NOT NULL,
        clicks_used INTEGER NOT NULL DEFAULT 0,
        metrics TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
)

_V2_SEARCH_AND_TOMBSTONES: Migration = (
    """
    CREATE TABLE tombstones (
        feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        dedup_key TEXT NOT NULL,
        purged DATETIME NOT NULL,
        PRIMARY KEY (feed_id, dedup_key)
    )
    """,
    """
    CREATE VIRTUAL TABLE article_fts USING fts5(
        title, summary_text,
        content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_fts (rowid, title, summary_text)
        VALUES (new.id, new.title, new.summary_text);
    END
    """,
    """
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO article_fts (article_fts, rowid, title, summary_text)
        VALUES ('delete', old.id, old.title, old.summary_text);
    END
    """,
    """
    CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, summary_text ON articles BEGIN
        INSERT INTO article_fts (article_fts, rowid, title, summary_text)
        VALUES ('delete', old.id, old.title, old.summary_text);
        INSERT INTO article_fts (rowid, title, summary_text)
        VALUES (new.id, new.title, new.summary_text);
    END
    """,
    "INSERT INTO article_fts (article_fts) VALUES ('rebuild')",
)

_V3_SCREENS_FEEDBACK_READER: Migration = (
    # A screen is one visit of one view (For you, Latest, a feed, a folder, Starred, a
    # search) with its filter and order. Impressions and clicks logged from the window
    # name their screen's key in ``session``; rows of older profiles name a window
    # session that has no screen row, and training treats them as legacy (README).
    """
    CREATE TABLE screens (
        key TEXT PRIMARY KEY,
        view TEXT NOT NULL,
        filter TEXT NOT NULL DEFAULT '{}',
        ordering TEXT NOT NULL DEFAULT 'latest',
        multi_feed INTEGER NOT NULL DEFAULT 1 CHECK (multi_feed IN (0, 1)),
        started DATETIME NOT NULL
    )
    """,
    "ALTER TABLE clicks ADD COLUMN position INTEGER",
    "ALTER TABLE clicks ADD COLUMN visible TEXT",
    # Explicit feedback: "more / less like this" on an article, "fewer from this feed",
    # "don't rank on this word". Never a click; undoing one stamps ``undone``.
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
        feed_id INTEGER REFERENCES feeds (id) ON DELETE CASCADE,
        word TEXT,
        time DATETIME NOT NULL,
        undone DATETIME
    )
    """,
    "CREATE INDEX ix_feedback_time ON feedback (time)",
    # Reader features: when an article was read (retention counts from it), the full
    # text fetched from its page, the story it was folded into, and enclosures.
    "ALTER TABLE articles ADD COLUMN read_at DATETIME",
    "ALTER TABLE articles ADD COLUMN full_html TEXT",
    "ALTER TABLE articles ADD COLUMN story_id INTEGER",
    "CREATE INDEX ix_articles_story ON articles (story_id)",
    "ALTER TABLE feeds ADD COLUMN full_text INTEGER NOT NULL DEFAULT 0 CHECK (full_text IN (0, 1))",
    """
    CREATE TABLE enclosures (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        type TEXT,
        length INTEGER
    )
    """,
    "CREATE UNIQUE INDEX ux_enclosures_article_url ON enclosures (article_id, url)",
)

_V4_IMPRESSIONS_BY_ARTICLE_TIME: Migration = (
    # How many headlines of each feed were shown in the last days (the feeds For you gives a
    # look, app.storage.events.known_feeds) is read from this index alone; by article only,
    # each impression's time was read from the table: 1 s at 400,000 impressions, not 0.1 s.
    # It serves every lookup by article the old index did.
    "CREATE INDEX ix_impressions_article_time ON impressions (article_id, time)",
    "DROP INDEX ix_impressions_article",
)

MIGRATIONS: tuple[Migration, ...] = (
    _V1_BASE,
    _V2_SEARCH_AND_TOMBSTONES,
    _V3_SCREENS_FEEDBACK_READER,
    _V4_IMPRESSIONS_BY_ARTICLE_TIME,
)
"""Every migration, oldest first. ``len(MIGRATIONS)`` is the current schema version."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""


class NewerSchemaError(HeedfulError):
    """The profile was written by a newer version of the program."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"this profile has schema version {found}, but this version of Heedful only "
            f"knows up to {known}; please upgrade Heedful"
        )
        self.found = found
        self.known = known


class InvalidSchemaError(NewerSchemaError):
    """The profile's schema version is one no version of the program writes (below 0)."""

    def __init__(self, found: int, known: int) -> None:
        Exception.__init__(
            self,
            f"its schema version is {found}, which no version of Heedful writes; "
            "the file is damaged or was changed by hand",
        )
        self.found = found
        self.known = known


def user_version(conn: Connection) -> int:
    """Return the profile's ``PRAGMA user_version``."""
    value = conn.exec_driver_sql("PRAGMA user_version").scalar()
    return int(value or 0)


def apply(conn: Connection, start: int, stop: int) -> None:
    """Run migrations ``start`` (inclusive) to ``stop`` (exclusive) on ``conn``.

    The caller owns the transaction; ``user_version`` is set to ``stop``.
    """
    for index in range(start, stop):
        logger.info("applying schema migration %d", index + 1)
        for statement in MIGRATIONS[index]:
            conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"PRAGMA user_version = {int(stop)}")


def upgrade(read_engine: Engine, write_engine: Engine) -> int:
    """Apply every pending migration and return the schema version.

    The version is first read through ``read_engine`` (deferred transactions), so
    opening an up-to-date profile never waits for another writer; the upgrade itself
    runs through ``write_engine``, whose transactions begin IMMEDIATE, and reads the
    version again under that lock. Raises NewerSchemaError for a profile newer than
    the code.
    """
    known = len(MIGRATIONS)
    with read_engine.connect() as conn:
        found = user_version(conn)
    if found < 0:
        raise InvalidSchemaError(found, known)
    if found > known:
        raise NewerSchemaError(found, known)
    if found == known:
        return found
    with write_engine.connect() as conn, conn.begin():
        found = user_version(conn)
        if found > known:
            raise NewerSchemaError(found, known)
        if found < known:
            logger.info("upgrading schema from version %d to %d", found, known)
            apply(conn, found, known)
        return known
