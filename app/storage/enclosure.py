"""Enclosures: files a feed attaches to an article (podcast audio, video, images).

Only their address, type and declared size are kept; nothing is downloaded unless the
reader opens one, and then by the system's own handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app.storage.batch import chunks
from app.storage.schema import Article, Enclosure

_ENCLOSURES = cast(Table, Enclosure.__table__)

MAX_PER_ARTICLE = 20
"""Attachments kept per article; a feed that lists more is cut off here."""


@dataclass(frozen=True, slots=True)
class EnclosureRecord:
    """One attachment: its address, its MIME type and its size in bytes, when given."""

    url: str
    type: str | None = None
    length: int | None = None


def store(s: Session, article_id: int, items: Sequence[EnclosureRecord]) -> int:
    """Keep an article's attachments (those already kept, by address, stay as they are);
    returns how many are new."""
    rows = _rows(article_id, items)
    if not rows:
        return 0
    known = set(s.scalars(select(Enclosure.url).where(Enclosure.article_id == article_id)))
    fresh = [row for row in rows if row["url"] not in known]
    if fresh:
        s.execute(insert(Enclosure), fresh)
    return len(fresh)


def _rows(article_id: int, items: Sequence[EnclosureRecord]) -> list[dict[str, Any]]:
    """The rows an article's attachments are kept as: the first :data:`MAX_PER_ARTICLE`
    distinct ones that have an address."""
    return [
        {"article_id": article_id, "url": e.url, "type": e.type, "length": e.length}
        for e in list(dict.fromkeys(items))[:MAX_PER_ARTICLE]
        if e.url
    ]


def store_new(
    s: Session, ids: Mapping[str, int], by_key: Mapping[str, Sequence[EnclosureRecord]]
) -> int:
    """Keep the attachments of articles just inserted, given their ids by dedup key: the rows
    :func:`store_by_key` would write, in its order, in one insert, since articles without a
    kept attachment need no look-up of the addresses kept (a feed's first fetch stores a
    podcast's whole archive this way). Keys without an id are ignored. Returns how many."""
    rows = [row for key, items in by_key.items() if key in ids for row in _rows(ids[key], items)]
    if rows:
        s.execute(insert(_ENCLOSURES), rows)
    return len(rows)


def store_by_id(
    s: Session, ids: Mapping[str, int], by_key: Mapping[str, Sequence[EnclosureRecord]]
) -> int:
    """Keep the attachments of articles given by dedup key, their ids known (those the caller
    has just read or written): the rows :func:`store_by_key` would write, in its order, in one
    look-up of the addresses kept and one insert, rather than two statements an article (a
    podcast's every refresh lists its whole archive). Keys without an id are ignored. Returns
    how many are new."""
    wanted = {ids[key]: _rows(ids[key], items) for key, items in by_key.items() if key in ids}
    wanted = {article: rows for article, rows in wanted.items() if rows}
    kept: set[tuple[int, str]] = set()
    for chunk in chunks(list(wanted)):
        query = select(Enclosure.article_id, Enclosure.url).where(Enclosure.article_id.in_(chunk))
        kept.update((row[0], row[1]) for row in s.execute(query))
    fresh = [
        row
        for rows in wanted.values()
        for row in rows
        if (row["article_id"], row["url"]) not in kept
    ]
    if fresh:
        s.execute(insert(_ENCLOSURES), fresh)
    return len(fresh)


def store_by_key(s: Session, feed_id: int, by_key: Mapping[str, Sequence[EnclosureRecord]]) -> int:
    """Keep the attachments of a feed's articles given by dedup key; unknown keys (a purged
    or skipped entry) are ignored. Returns how many are new."""
    wanted = {key: items for key, items in by_key.items() if items}
    if not wanted:
        return 0
    query = select(Article.dedup_key, Article.id).where(
        Article.feed_id == feed_id, Article.dedup_key.in_(list(wanted))
    )
    ids = {row[0]: row[1] for row in s.execute(query)}
    return sum(store(s, ids[key], items) for key, items in wanted.items() if key in ids)


def for_article(s: Session, article_id: int) -> list[EnclosureRecord]:
    """An article's attachments in the order they were listed."""
    query = (
        select(Enclosure.url, Enclosure.type, Enclosure.length)
        .where(Enclosure.article_id == article_id)
        .order_by(Enclosure.id)
    )
    return [EnclosureRecord(row[0], row[1], row[2]) for row in s.execute(query)]
