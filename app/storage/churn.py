"""GUID churn: a feed that gives the same item a new GUID on every fetch.

Such an entry has a new dedup key each time, so matching on the key alone would store it again
and again (50 rows a refresh for a 50-item feed). An entry whose key is new but whose title and
link equal a stored article of the same feed is that article, updated: it takes the new key.
A purged article is buried under its content key too, so churn cannot bring it back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.schema import Article, Tombstone

CHUNK = 500


def content_key(title: str, url: str | None) -> str | None:
    """The tombstone key of an article by what it shows (title and link); None without a link,
    where a title alone is too weak an identity."""
    if not url:
        return None
    source = f"content:{title}\x00{url}"
    return "content:" + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


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
