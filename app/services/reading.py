"""Reading use-cases: listing, searching and marking articles, counts for the sidebar."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.services.river import UNREAD, RiverFilter
from app.storage import articles, events, feeds, story
from app.storage.database import Database
from app.storage.record import ArticleRecord, FeedRecord, Stats

logger = logging.getLogger(__name__)

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


def unread_in_scope(
    db: Database,
    *,
    feed_id: int | None = None,
    folder: str | None = None,
    older_than: timedelta | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Ids of the unread rows of a feed, a folder or everything (a folded story once), newest
    first; with ``older_than``, only those whose river time is at least that old."""
    with db.read() as s:
        rows = articles.list_candidates(s, unread_only=True, feed_id=feed_id, folder=folder)
    if older_than is None:
        return [row.id for row in rows]
    cutoff = (now or datetime.now(UTC)) - older_than
    return [row.id for row in rows if row.time <= cutoff]


def mark_read(db: Database, ids: Sequence[int]) -> tuple[int, ...]:
    """Mark articles (and the other copies of their stories) read; returns the ids that were
    unread and are read now, which is exactly what an undo marks unread again."""
    with db.write() as s:
        group = sorted(story.members(s, ids))
        unread = [
            a.id
            for a in articles.list_articles(s, ids=group, unread_only=True, limit=len(group) + 1)
        ]
        articles.set_read(s, unread, True)
    return tuple(unread)


def purge(db: Database, older_than_days: int | None = None) -> int:
    """Delete articles read longer ago than the retention setting (``retention_days``).

    Starred, clicked and judged articles and the screens of kept clicks are never purged
    (:func:`app.storage.articles.purge_old`). Unread articles stay unless the reader set
    ``retention_unread_days``, which counts from when they were fetched.
    """
    with db.write() as s:
        if older_than_days is None:
            setting = events.get_setting(s, "retention_days")
            days = _days(setting)
            older_than_days = DEFAULT_RETENTION_DAYS if days is None else days
        unread = _days(events.get_setting(s, "retention_unread_days"))
        return articles.purge_old(s, datetime.now(UTC), older_than_days, unread_days=unread)


def _days(setting: str | None) -> int | None:
    """A whole, non-negative number of days from a setting; None when unset or bad."""
    if setting is None or not setting.strip():
        return None
    try:
        value = int(setting)
    except ValueError:
        logger.warning("ignoring a retention setting that is not a number: %r", setting[:40])
        return None
    return value if value >= 0 else None
