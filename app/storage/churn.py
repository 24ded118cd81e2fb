"""GUID churn: a feed that gives the same item a new GUID on every fetch.

Such an entry has a new dedup key each time, so matching on the key alone would store it again
and again (50 rows a refresh for a 50-item feed). An entry whose key is new but whose title and
link equal a stored article of the same feed is that article, updated: it takes the new key.
A purged article is buried under its content key too, so churn cannot bring it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, insert, literal, select
from sqlalchemy.orm import Session

from app.storage.schema import Article, Tombstone, UTCDateTime

CHUNK = 500


PREFIX = "content:"


def content_key(title: str, url: str | None) -> str | None:
    """The tombstone key of an article by what it shows (title and link); None without a link,
    where a title alone is too weak an identity. Plain text, so SQL can build it too
    (:func:`bury_content`)."""
    if not url:
        return None
    return f"{PREFIX}{title}\x1f{url}"


def bury_content(doomed: ColumnElement[bool], now: datetime) -> Insert:
    """The statement that tombstones the content keys of the articles ``doomed`` selects, for
    any purge: a feed that changes GUIDs then cannot bring a purged article back either."""
    key = literal(PREFIX) + Article.title + literal("\x1f") + Article.url
    rows = select(Article.feed_id, key, literal(now, UTCDateTime)).where(
        doomed, Article.url.is_not(None), Article.url != ""
    )
    return (
        insert(Tombstone)
        .prefix_with("OR IGNORE")
        .from_select(["feed_id", "dedup_key", "purged"], rows)
    )


def stored_by_content(
    s: Session, feed_id: int, wanted: Iterable[tuple[str, str]], columns: Sequence[Any]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Stored articles of the feed by (title, link), as mappings of ``columns`` (which must
    include id, dedup_key, title and url); of several with the same pair, the newest id."""
    pairs = set(wanted)
    urls = sorted({url for _, url in pairs})
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(urls), CHUNK):
        chunk = urls[start : start + CHUNK]
        query = (
            select(*columns)
            .where(Article.feed_id == feed_id, Article.url.in_(chunk))
            .order_by(Article.id)
        )
        for row in s.execute(query).mappings():
            pair = (row["title"], row["url"])
            if pair in pairs:
                found[pair] = dict(row)
    return found


def buried_content(s: Session, feed_id: int, keys: Iterable[str]) -> set[str]:
    """Which of these content keys are tombstones of the feed."""
    wanted = sorted(set(keys))
    buried: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        query = select(Tombstone.dedup_key).where(
            Tombstone.feed_id == feed_id, Tombstone.dedup_key.in_(chunk)
        )
        buried.update(s.scalars(query))
    return buried
