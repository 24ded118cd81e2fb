"""An article's full text, fetched from its page, and the per-feed "always fetch" option."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from app.storage.database import NotFoundError
from app.storage.schema import Article, Feed, to_utc

_ARTICLES = cast(Table, Article.__table__)
_FEEDS = cast(Table, Feed.__table__)


def full_html(s: Session, article_id: int) -> str | None:
    """The stored full text of an article (sanitised HTML), or None when not fetched."""
    return s.scalar(select(Article.full_html).where(Article.id == article_id))


def set_full_html(s: Session, article_id: int, html: str | None) -> None:
    """Store (or with None, forget) an article's full text; NotFoundError for an unknown id."""
    result: Any = s.execute(
        update(_ARTICLES).where(_ARTICLES.c.id == article_id).values(full_html=html)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"There is no article {article_id}.")


def feed_full_text(s: Session, feed_id: int) -> bool:
    """Whether the feed's new articles get their full text fetched on their own."""
    return bool(s.scalar(select(Feed.full_text).where(Feed.id == feed_id)))


def set_feed_full_text(s: Session, feed_id: int, on: bool) -> None:
    """Switch a feed's "always fetch full text" option; NotFoundError for an unknown id."""
    result: Any = s.execute(update(_FEEDS).where(_FEEDS.c.id == feed_id).values(full_text=on))
    if result.rowcount == 0:
        raise NotFoundError(f"There is no feed {feed_id}.")


def missing_full_text(s: Session, since: datetime, limit: int) -> list[tuple[int, str]]:
    """(id, address) of unread articles fetched at or after ``since`` from feeds with
    "always fetch full text" on that have no full text yet, newest first, at most ``limit``."""
    query = (
        select(Article.id, Article.url)
        .join(Feed, Feed.id == Article.feed_id)
        .where(
            Feed.full_text.is_(True),
            Article.full_html.is_(None),
            Article.url.is_not(None),
            Article.read.is_(False),
            Article.fetched >= to_utc(since),
        )
        .order_by(Article.fetched.desc(), Article.id.desc())
        .limit(max(0, limit))
    )
    return [(int(row[0]), str(row[1])) for row in s.execute(query)]
