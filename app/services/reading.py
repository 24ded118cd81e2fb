"""Reading use-cases: listing, searching and marking articles, counts for the sidebar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from app.services.river import UNREAD, RiverFilter
from app.storage import articles, events, feeds
from app.storage.database import Database
from app.storage.record import ArticleRecord, FeedRecord, Stats

DEFAULT_RETENTION_DAYS = 90


def stats(db: Database) -> Stats:
    """Counts of feeds, articles, impressions and clicks."""
    with db.read() as s:
        return articles.stats(s)


def subscriptions(db: Database) -> list[FeedRecord]:
    """Every feed with its unread and total counts."""
    with db.read() as s:
        return feeds.list_feeds(s)


def article(db: Database, article_id: int) -> ArticleRecord | None:
    """One article, or None."""
    with db.read() as s:
        return articles.get_article(s, article_id)


def latest(
    db: Database,
    *,
    limit: int = 100,
    offset: int = 0,
    view: RiverFilter = UNREAD,
) -> list[ArticleRecord]:
    """The articles of ``view``, newest first."""
    with db.read() as s:
        return articles.list_articles(s, limit=limit, offset=offset, **view.query())


def set_read(db: Database, ids: Sequence[int], read: bool) -> int:
    """Mark articles read or unread; returns how many changed."""
    with db.write() as s:
        return articles.set_read(s, ids, read)


def set_starred(db: Database, article_id: int, starred: bool) -> None:
    """Star or unstar an article (starred articles are never purged)."""
    with db.write() as s:
        articles.set_starred(s, article_id, starred)


def mark_all_read(db: Database, *, feed_id: int | None = None, folder: str | None = None) -> int:
    """Mark everything (or one feed, or one folder) read, up to now."""
    with db.write() as s:
        return articles.mark_all_read(s, feed_id=feed_id, folder=folder, upto=datetime.now(UTC))


def purge(db: Database, older_than_days: int | None = None) -> int:
    """Delete read, unstarred, never-clicked articles older than the retention setting."""
    with db.write() as s:
        if older_than_days is None:
            setting = events.get_setting(s, "retention_days")
            older_than_days = int(setting) if setting else DEFAULT_RETENTION_DAYS
        return articles.purge_old(s, datetime.now(UTC), older_than_days)
