"""The look-up before a batch of feeds' entries is stored: what
:func:`~app.storage.articles.upsert_articles` reads of each feed before it writes, read for
every feed of a refresh batch in five statements.

Feed by feed that is five to seven statements each (the stored rows under the incoming keys,
the tombstones among those keys, the buried content and the stored articles that GUID churn
matches on, the count of unread articles under the cap), each one built by SQLAlchemy and its
rows processed: in an everyday refresh (each feed's 50 stored entries and five new ones) they
were most of the writer's 3.3 ms a feed, more than twice what storing a first fetch costs.
Here the (feed, key) pairs go to SQLite as one JSON document, ``{"feed id": [keys]}``, which
``json_each`` walks, looking each pair up in the unique (feed_id, dedup_key) index; the rows
come back through the driver, their dates converted by the column's own result step.

JSON cannot carry a NUL character into SQLite's text as it was, so a feed with one in a key, or
in the title or link of an entry that churn would match, is left out of the look-up and read
the general way, feed by feed. The documents are ASCII (JSON's own escapes), so that a string
the driver cannot bind (a lone surrogate) matches nothing here instead of failing the whole
look-up: its feed then fails alone when its rows are written, as its own look-up would.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.storage import churn
from app.storage.schema import Article

logger = logging.getLogger(__name__)

FIELDS = ("url", "title", "summary_html", "summary_text", "author", "published")
"""An article's content, which an update of a stored entry compares and replaces."""

Row = tuple[Any, ...]
"""A stored article as the upsert compares it: its id, its dedup key, then :data:`FIELDS`."""

_EXISTING = (
    "SELECT a.feed_id, a.id, a.dedup_key, a.url, a.title, a.summary_html, a.summary_text,"
    " a.author, a.published"
    " FROM json_each(?) AS f CROSS JOIN json_each(f.value) AS k CROSS JOIN articles AS a"
    " ON a.feed_id = CAST(f.key AS INTEGER) AND a.dedup_key = k.value"
)
"""The stored rows under the (feed, key) pairs of a ``{"feed id": [keys]}`` document: the
pairs walked first (CROSS JOIN keeps that order), each found in the unique index."""
_BURIED = (
    "SELECT t.feed_id, t.dedup_key"
    " FROM json_each(?) AS f CROSS JOIN json_each(f.value) AS k CROSS JOIN tombstones AS t"
    " ON t.feed_id = CAST(f.key AS INTEGER) AND t.dedup_key = k.value"
)
"""The tombstones among the (feed, key) pairs of such a document, by their primary key."""
_BY_CONTENT = (
    "SELECT a.feed_id, a.id, a.dedup_key, a.url, a.title, a.summary_html, a.summary_text,"
    " a.author, a.published FROM articles AS a"
    " WHERE a.feed_id IN (SELECT value FROM json_each(?))"
    " AND a.url IN (SELECT value FROM json_each(?)) ORDER BY a.id"
)
"""Stored articles of these feeds under these links, oldest first (each feed's rows scanned
once, as :func:`churn.stored_by_content` scans them, the links matched in a list)."""
_UNREAD = (
    "SELECT feed_id, count(*) FROM articles"
    " WHERE feed_id IN (SELECT value FROM json_each(?)) AND read = 0 GROUP BY feed_id"
)
"""Each feed's unread articles, counted in its (feed_id, read, …) index."""


class Incoming(Protocol):
    """What :func:`~app.storage.articles.upsert_articles` reads of an entry: an
    :class:`~app.storage.record.IncomingArticle`, or any entry with the same fields (a refresh
    passes the parsed entries as they are, rather than copying 50 of them a feed in the one
    process that writes)."""

    @property
    def dedup_key(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def summary_html(self) -> str: ...
    @property
    def summary_text(self) -> str: ...
    @property
    def author(self) -> str | None: ...
    @property
    def published(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Known:
    """What storing one feed's entries reads of the database first, read beforehand by
    :func:`look_up`: ``items`` the entries it was read for and ``latest`` them by key (see
    :func:`latest`); ``existing`` the stored rows under those keys; ``buried`` those keys that
    are tombstones; ``dead`` the content keys (:func:`churn.content_key`) of the entries churn
    may match (:func:`unmatched`) that are tombstones, and ``by_content`` the feed's stored
    articles by their (title, link), the newest of several; ``unread`` the feed's unread
    articles."""

    items: Sequence[Incoming]
    latest: dict[str, Incoming]
    existing: dict[str, Row]
    buried: frozenset[str]
    dead: frozenset[str]
    by_content: dict[tuple[str, str], Row]
    unread: int


def latest(items: Sequence[Incoming]) -> dict[str, Incoming]:
    """Entries by dedup key: of a key given twice, the last version, in the first's place."""
    found: dict[str, Incoming] = {}
    for item in items:
        found[item.dedup_key] = item
    return found


def unmatched(
    latest: Mapping[str, Incoming], existing: Collection[str], buried: Collection[str]
) -> dict[str, tuple[str, str]]:
    """The (title, link) of each entry neither stored nor buried under its key that has a link:
    those that may be a stored article under a new GUID (:mod:`churn`)."""
    found: dict[str, tuple[str, str]] = {}
    for key, item in latest.items():
        if item.url and key not in existing and key not in buried:
            found[key] = (item.title, item.url)
    return found


def look_up(s: Session, items: Mapping[int, Sequence[Incoming]]) -> dict[int, Known]:
    """What storing each feed's ``items`` reads first, for every feed at once; the feeds must
    exist. Feeds left out (see the module) have no entry in the result.

    It only reads, before any feed's own savepoint: a failure of the database raises as any
    statement's would, but any other (odd data, a bug) is logged and leaves every feed to read
    its own, as it would without the look-up, so that it cannot cost a batch its articles."""
    if not items:
        return {}
    try:
        return _look_up(s, items)
    except DBAPIError:
        raise
    except Exception:
        logger.exception("could not look up the stored articles of %d feeds at once", len(items))
        return {}


def _look_up(s: Session, items: Mapping[int, Sequence[Incoming]]) -> dict[int, Known]:
    wanted = {
        feed_id: latest(entries)
        for feed_id, entries in items.items()
        if not any("\x00" in item.dedup_key for item in entries)
    }
    if not wanted:
        return {}
    connection = s.connection()
    table = cast(Table, Article.__table__)
    kind = table.c.published.type.dialect_impl(connection.dialect)
    date: Callable[[Any], Any] = kind.result_processor(connection.dialect, None) or _same
    document = json.dumps({str(feed_id): list(keys) for feed_id, keys in wanted.items()})
    existing: dict[int, dict[str, Row]] = {feed_id: {} for feed_id in wanted}
    for feed_id, *row in connection.exec_driver_sql(_EXISTING, (document,)):
        row[-1] = date(row[-1])
        existing[feed_id][row[1]] = tuple(row)
    buried: dict[int, set[str]] = {feed_id: set() for feed_id in wanted}
    for feed_id, key in connection.exec_driver_sql(_BURIED, (document,)):
        buried[feed_id].add(key)
    pairs = {
        feed_id: unmatched(keys, existing[feed_id], buried[feed_id])
        for feed_id, keys in wanted.items()
    }
    for feed_id, found in list(pairs.items()):
        if any("\x00" in title or "\x00" in url for title, url in found.values()):
            del wanted[feed_id], pairs[feed_id]
    dead = _dead(connection, pairs)
    by_content = _by_content(connection, pairs, date)
    counts = connection.exec_driver_sql(_UNREAD, (json.dumps(list(wanted)),))
    unread: dict[int, int] = {feed_id: count for feed_id, count in counts}
    return {
        feed_id: Known(
            items[feed_id],
            keys,
            existing[feed_id],
            frozenset(buried[feed_id]),
            frozenset(dead.get(feed_id, ())),
            by_content.get(feed_id, {}),
            unread.get(feed_id, 0),
        )
        for feed_id, keys in wanted.items()
    }


def _dead(
    connection: Connection, pairs: Mapping[int, Mapping[str, tuple[str, str]]]
) -> dict[int, set[str]]:
    """Of the content keys of these (title, link) pairs, those each feed has a tombstone of."""
    content = {
        str(feed_id): sorted({key for pair in found.values() if (key := churn.content_key(*pair))})
        for feed_id, found in pairs.items()
        if found
    }
    dead: dict[int, set[str]] = {}
    if content:
        for feed_id, key in connection.exec_driver_sql(_BURIED, (json.dumps(content),)):
            dead.setdefault(feed_id, set()).add(key)
    return dead


def _by_content(
    connection: Connection,
    pairs: Mapping[int, Mapping[str, tuple[str, str]]],
    date: Callable[[Any], Any],
) -> dict[int, dict[tuple[str, str], Row]]:
    """Each feed's stored articles by these (title, link) pairs; of several, the newest."""
    wanted = {feed_id: set(found.values()) for feed_id, found in pairs.items() if found}
    stored: dict[int, dict[tuple[str, str], Row]] = {}
    if not wanted:
        return stored
    urls = sorted({url for found in wanted.values() for _, url in found})
    parameters = (json.dumps(list(wanted)), json.dumps(urls))
    for feed_id, *row in connection.exec_driver_sql(_BY_CONTENT, parameters):
        pair = (row[3], row[2])  # title, url
        if pair in wanted[feed_id]:
            row[-1] = date(row[-1])
            stored.setdefault(feed_id, {})[pair] = tuple(row)
    return stored


def _same(value: Any) -> Any:
    return value
