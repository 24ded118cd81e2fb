"""Articles: batch upsert with dedup, the read and starred flags, and the profile's counts.

The river's reads and search live in :mod:`app.storage.query`, the unread cap and the purge
in :mod:`app.storage.retention`; their public names are importable from here too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.storage import churn, enclosure, lookup, story
from app.storage.batch import CHUNK, chunks
from app.storage.database import NotFoundError
from app.storage.enclosure import EnclosureRecord
from app.storage.lookup import FIELDS as _FIELDS
from app.storage.lookup import Incoming, Known, Row, look_up
from app.storage.query import (
    article_feeds,
    article_times,
    article_titles,
    feed_scope,
    fts_query,
    get_article,
    list_articles,
    list_candidates,
    sort_time,
    unread_ids,
)
from app.storage.record import Stats, UpsertResult
from app.storage.retention import (
    DEFAULT_UNREAD_CAP,
    FROM_SETTING,
    UNREAD_CAP_SETTING,
    FromSetting,
    cap_unread,
    purge_old,
    unread_cap,
)
from app.storage.schema import (
    Article,
    Click,
    Feed,
    Impression,
    ModelVersion,
    Tombstone,
    to_utc,
)

__all__ = [
    "CHUNK",
    "DEFAULT_UNREAD_CAP",
    "FROM_SETTING",
    "UNREAD_CAP_SETTING",
    "FromSetting",
    "Incoming",
    "Known",
    "article_feeds",
    "article_times",
    "article_titles",
    "cap_unread",
    "first_fetches",
    "fts_query",
    "get_article",
    "list_articles",
    "list_candidates",
    "look_up",
    "mark_all_read",
    "purge_old",
    "set_read",
    "set_starred",
    "sort_time",
    "stats",
    "unread_cap",
    "unread_ids",
    "upsert_articles",
]

logger = logging.getLogger(__name__)

_ARTICLES = cast(Table, Article.__table__)
_NEW_COLUMNS = ("feed_id", "dedup_key", "fetched", "read", "starred", *_FIELDS)
_NEW_ROWS = min(1000, 32_700 // len(_NEW_COLUMNS))
"""Most rows in one insert of a first fetch: SQLAlchemy's own page for SQLite (1,000 rows,
32,700 parameters), so that 2,000 entries are two statements."""


def _incoming_values(item: Incoming, now: datetime) -> tuple[Any, ...]:
    """Column values of an incoming entry, in :data:`_FIELDS` order (a tuple, compared with a
    stored :data:`~app.storage.lookup.Row`'s as one); a date in the future is clamped to
    ``now``."""
    published = None if item.published is None else min(to_utc(item.published), now)
    return (item.url, item.title, item.summary_html, item.summary_text, item.author, published)


def upsert_articles(
    s: Session,
    feed_id: int,
    items: Sequence[Incoming],
    now: datetime,
    *,
    cap: int | FromSetting | None = FROM_SETTING,
    attachments: Mapping[str, Sequence[EnclosureRecord]] | None = None,
    bulk: bool = True,
    first: bool | None = None,
    known: Known | None = None,
) -> UpsertResult:
    """Insert new entries of a feed and update changed ones in place.

    Entries are matched on (feed, dedup key); a key given twice counts once and its
    last version wins. An entry with a new key but the title and link of a stored article
    whose own key this fetch lacks is that article under a new GUID (:mod:`churn`): an
    update that takes the new key, not a new article. An update changes the content only,
    never the read or starred flags. Keys of purged articles (tombstones) are skipped. A
    publication date in the future is clamped to ``now``, so that it cannot pin an article
    to the top of the river. A feed deleted meanwhile gets nothing. After inserting, the
    feed's unread articles are capped (:func:`cap_unread`) at ``cap``, read from the setting
    (:func:`unread_cap`) when not given: a caller storing many feeds reads it once for all.
    ``attachments`` (enclosures by dedup key) are kept after the cap, as
    :func:`enclosure.store_by_key` keeps them.

    One query per chunk of keys, not one per entry; none for a feed with nothing stored or
    buried yet (its first fetch), whose articles go in one multi-row insert that returns their
    ids (half the CPU of an executemany and a query for the ids: the full-text index writes a
    segment per statement) and whose attachments go in one more (:func:`enclosure.store_new`)
    instead of two statements an article. The new entries of a later fetch go in the same
    way, and its attachments in two statements (:func:`enclosure.store_by_id`, the ids known
    from the reads). ``bulk`` False writes the general way (an executemany, then a query for
    the ids; attachments article by article): the tests check that both write the same rows.
    ``first`` is whether this is the feed's first fetch when the caller has asked for many
    feeds at once (:func:`first_fetches`, the feed then known to exist); None asks here.
    ``known`` is what :func:`lookup.look_up` read beforehand for these very ``items`` (a
    refresh reads it for a batch of feeds at once): no query is then made before the writes,
    and the cap is applied only where the feed's unread articles and the new ones exceed it
    (:func:`cap_unread` would find nothing to purge otherwise).
    """
    if not items:
        return UpsertResult(0, 0, ())
    if known is not None and known.items is not items:
        raise ValueError(f"feed {feed_id}: the look-up was made for other entries")
    if first is None:
        state = first_fetches(s, [feed_id])
        if feed_id not in state:
            logger.info("feed %d was deleted before its articles were stored", feed_id)
            return UpsertResult(0, 0, ())
        first = state[feed_id]
    bulk_first = bulk and first
    now = to_utc(now)
    latest = lookup.latest(items) if known is None else known.latest
    existing: dict[str, Row] = {} if known is None else known.existing
    buried: set[str] = set() if known is None else set(known.buried)
    columns = [Article.id, Article.dedup_key, *(getattr(Article, name) for name in _FIELDS)]
    for chunk in [] if first or known is not None else chunks(list(latest)):
        rows = s.execute(
            select(*columns).where(Article.feed_id == feed_id, Article.dedup_key.in_(chunk))
        )
        for row in rows:
            existing[row[1]] = tuple(row)
        buried.update(
            s.scalars(
                select(Tombstone.dedup_key).where(
                    Tombstone.feed_id == feed_id, Tombstone.dedup_key.in_(chunk)
                )
            )
        )
    churned = {} if first else _churned(s, feed_id, latest, existing, buried, columns, known)
    fresh: dict[str, Incoming] = {}
    updates: list[dict[str, Any]] = []
    rekeys: list[dict[str, Any]] = []
    for key, item in {} if bulk_first else latest.items():
        values = _incoming_values(item, now)
        old = existing.get(key)
        if old is None and key in churned:
            old = churned[key]
            rekeys.append({"_id": old[0], "new_key": key})
        if old is not None:
            if values[-1] == now and old[-1] is not None:
                values = (*values[:-1], old[-1])  # still in the future: keep the clamp
            if old[2:] != values:
                changed = zip(_FIELDS, values, strict=True)
                fields = {f"new_{name}": value for name, value in changed}
                updates.append({"_id": old[0], "new_updated": now, **fields})
        elif key not in buried:
            fresh[key] = item
    if bulk_first:
        fresh = dict(latest)  # a first fetch: every entry is new, nothing is buried
    new_ids: tuple[int, ...] = ()
    ids_by_key: dict[str, int] = {}
    if fresh and bulk:
        ids_by_key = _insert_new(s, feed_id, fresh, now)
        new_ids = tuple(ids_by_key[key] for key in fresh)
    elif fresh:
        inserts = [
            {"feed_id": feed_id, "dedup_key": key, "fetched": now, "read": False,
             "starred": False, **dict(zip(_FIELDS, _incoming_values(item, now), strict=True))}
            for key, item in fresh.items()
        ]  # fmt: skip
        s.execute(insert(_ARTICLES), inserts)
        for chunk in chunks(list(fresh)):
            query = select(Article.dedup_key, Article.id).where(
                Article.feed_id == feed_id, Article.dedup_key.in_(chunk)
            )
            ids_by_key.update({row[0]: row[1] for row in s.execute(query)})
        new_ids = tuple(ids_by_key[key] for key in fresh)
    if rekeys:
        statement_k = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id == bindparam("_id"))
            .values(dedup_key=bindparam("new_key"))
        )
        s.execute(statement_k, rekeys)
    if updates:
        statement_u = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id == bindparam("_id"))
            .values({name: bindparam(f"new_{name}") for name in (*_FIELDS, "updated")})
        )
        s.execute(statement_u, updates)
    purged: set[int] = set()
    if new_ids:
        if cap is FROM_SETTING:
            cap = unread_cap(s)
        unread = 0 if first else None if known is None else known.unread  # before the new
        if unread is None or (cap is not None and unread + len(new_ids) > cap):  # else all fit
            purged = set(cap_unread(s, feed_id, cap, now))
            new_ids = tuple(i for i in new_ids if i not in purged)
    if attachments and bulk_first:
        alive = set(new_ids)  # those the cap buried are gone
        enclosure.store_new(s, {k: i for k, i in ids_by_key.items() if i in alive}, attachments)
    elif attachments and bulk and all(key in latest for key, files in attachments.items() if files):
        ids = {key: row[0] for rows in (existing, churned) for key, row in rows.items()}
        ids.update(ids_by_key)  # every key of the fetch that has its article now, by its id
        enclosure.store_by_id(s, {k: i for k, i in ids.items() if i not in purged}, attachments)
    elif attachments:
        enclosure.store_by_key(s, feed_id, attachments)
    if new_ids or updates:
        logger.debug(
            "feed %d: %d new, %d updated (%d under a new GUID)",
            feed_id, len(new_ids), len(updates), len(rekeys),
        )  # fmt: skip
    return UpsertResult(new=len(new_ids), updated=len(updates), new_ids=new_ids)


def _insert_new(
    s: Session, feed_id: int, latest: Mapping[str, Incoming], now: datetime
) -> dict[str, int]:
    """A first fetch's articles, all new, by multi-row ``INSERT … RETURNING`` statements given
    to the driver as they are, and their ids by dedup key. The values are the general path's
    (:func:`_incoming_values`, unread, not starred, fetched ``now``, each date through its
    column's own bind step); what is skipped is SQLAlchemy building and processing a dict of
    parameters for each row, about 10 µs a row in the one process that writes a refresh."""
    connection = s.connection()
    date = _bind(_ARTICLES.c.fetched.type, connection.dialect)
    flag = _bind(_ARTICLES.c.read.type, connection.dialect)
    fetched = date(now)
    unset = flag(False)
    rows: list[tuple[Any, ...]] = []
    for key, item in latest.items():
        *fields, published = _incoming_values(item, now)  # the date still to bind
        rows.append(
            (feed_id, key, fetched, unset, unset, *fields,
             None if published is None else date(published))
        )  # fmt: skip
    ids: dict[str, int] = {}
    for start in range(0, len(rows), _NEW_ROWS):
        page = rows[start : start + _NEW_ROWS]
        values = tuple(value for row in page for value in row)
        ids.update(connection.exec_driver_sql(_insert_statement(len(page)), values).all())
    return ids


def _bind(kind: Any, dialect: Any) -> Callable[[Any], Any]:
    """A column type's bind step on this dialect (the value as it is when it has none)."""
    step: Callable[[Any], Any] | None = kind.bind_processor(dialect)
    return step if step is not None else _same


def _same(value: Any) -> Any:
    return value


@functools.cache
def _insert_statement(rows: int) -> str:
    """``INSERT INTO articles (…) VALUES (?, …), … RETURNING dedup_key, id`` for ``rows``
    rows of :data:`_NEW_COLUMNS`."""
    row = "(" + ", ".join("?" * len(_NEW_COLUMNS)) + ")"
    names = ", ".join(_NEW_COLUMNS)  # constants: every value is bound
    return (
        f"INSERT INTO articles ({names}) VALUES {', '.join([row] * rows)} RETURNING dedup_key, id"  # noqa: S608
    )


def first_fetches(s: Session, feed_ids: Sequence[int]) -> dict[int, bool]:
    """For each of these feeds that exists, whether it has nothing stored or buried yet (its
    next fetch is its first, whose entries are all new); one query a chunk of feeds, so that a
    refresh asks once for a batch of feeds rather than once a feed."""
    found: dict[int, bool] = {}
    for chunk in chunks(sorted(set(feed_ids))):
        kept = or_(
            exists().where(Article.feed_id == Feed.id), exists().where(Tombstone.feed_id == Feed.id)
        )
        for feed_id, has in s.execute(select(Feed.id, kept).where(Feed.id.in_(chunk))):
            found[feed_id] = not has
    return found


def _churned(
    s: Session,
    feed_id: int,
    latest: dict[str, Incoming],
    existing: dict[str, Row],
    buried: set[str],
    columns: Sequence[Any],
    known: Known | None,
) -> dict[str, Row]:
    """The stored article that each new key is under a new GUID (see :mod:`churn`), read here
    unless ``known``. Keys whose title and link belong to a purged article are added to
    ``buried``."""
    pairs = lookup.unmatched(latest, existing, buried)
    if not pairs:
        return {}
    dead: Collection[str]
    stored: Mapping[tuple[str, str], Row]
    if known is not None:
        dead, stored = known.dead, known.by_content
    else:
        dead = churn.buried_content(
            s, feed_id, [c for c in (churn.content_key(*p) for p in pairs.values()) if c]
        )
        by_pair = churn.stored_by_content(s, feed_id, pairs.values(), columns)
        stored = {pair: tuple(row.values()) for pair, row in by_pair.items()}
    claimed = {row[0] for row in existing.values()}
    found: dict[str, Row] = {}
    for key, (title, url) in pairs.items():
        if churn.content_key(title, url) in dead:
            buried.add(key)
            continue
        row = stored.get((title, url))
        if row is not None and row[0] not in claimed:
            claimed.add(row[0])
            found[key] = row
    return found


def set_read(s: Session, ids: Sequence[int], read: bool, *, now: datetime | None = None) -> int:
    """Set the read flag of these articles; returns how many actually changed.

    Marking read stamps ``read_at`` (``now``, else the clock), which retention counts from;
    marking unread clears it. The other copies of a folded story change with them.
    """
    read_at = (to_utc(now) if now is not None else datetime.now(UTC)) if read else None
    changed = 0
    for chunk in chunks(sorted(story.members(s, ids))):  # copies of a story go together
        statement = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id.in_(chunk), _ARTICLES.c.read.is_not(read))
            .values(read=read, read_at=read_at)
        )
        result: Any = s.execute(statement)
        changed += result.rowcount
    return changed


def set_starred(s: Session, article_id: int, starred: bool) -> None:
    """Star or unstar an article; raises NotFoundError for an unknown id."""
    statement = update(_ARTICLES).where(_ARTICLES.c.id == article_id).values(starred=starred)
    result: Any = s.execute(statement)
    if result.rowcount == 0:
        raise NotFoundError(f"There is no article {article_id}.")


def mark_all_read(
    s: Session,
    *,
    feed_id: int | None = None,
    folder: str | None = None,
    upto: datetime | None = None,
) -> int:
    """Mark unread articles read (of a feed, a folder, or all); returns how many.

    With ``upto``, only articles fetched at or before it, so that what arrived after
    the reader looked at the list stays unread. ``read_at`` is stamped with ``upto``, else
    the clock.
    """
    conditions = [Article.read.is_(False), *feed_scope(feed_id, folder)]
    if upto is not None:
        conditions.append(Article.fetched <= to_utc(upto))
    read_at = to_utc(upto) if upto is not None else datetime.now(UTC)
    result: Any = s.execute(update(_ARTICLES).where(*conditions).values(read=True, read_at=read_at))
    return int(result.rowcount) + story.read_together(s, read_at)


def stats(s: Session) -> Stats:
    """Counts over the whole profile, in one query."""
    count = func.count()
    row = s.execute(
        select(
            select(count).select_from(Feed).scalar_subquery(),
            select(count).select_from(Feed).where(Feed.error_count > 0).scalar_subquery(),
            select(count).select_from(Article).scalar_subquery(),
            select(count).select_from(Article).where(Article.read.is_(False)).scalar_subquery(),
            select(count).select_from(Article).where(Article.starred.is_(True)).scalar_subquery(),
            select(count).select_from(Impression).scalar_subquery(),
            select(count).select_from(Click).scalar_subquery(),
            select(func.max(ModelVersion.id)).scalar_subquery(),
        )
    ).one()
    return Stats(
        feeds=int(row[0]),
        feeds_failed=int(row[1]),
        articles=int(row[2]),
        unread=int(row[3]),
        starred=int(row[4]),
        impressions=int(row[5]),
        clicks=int(row[6]),
        model_version=None if row[7] is None else int(row[7]),
    )
