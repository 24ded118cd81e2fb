"""Feed subscriptions and their fetch state (conditional GET, errors, back-off)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from app.storage.batch import id_list
from app.storage.database import NotFoundError, StorageError
from app.storage.record import DEFAULT_UPDATE_INTERVAL, FeedRecord
from app.storage.schema import Article, Feed, to_utc

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)
"""The longest a failing feed waits between tries, unless the server asks for longer."""

MAX_RETRY_AFTER = timedelta(days=7)
"""A server's Retry-After is honoured up to this long."""

MAX_ERROR_LENGTH = 2000


class DuplicateFeedError(StorageError):
    """A feed with this URL is already subscribed."""


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an argument of update_feed that was not given (None is a real value there)."""


_COLUMNS = (
    *(Feed.id, Feed.url, Feed.title, Feed.site_url, Feed.folder, Feed.etag),
    *(Feed.last_modified, Feed.last_fetch, Feed.next_fetch, Feed.error_count, Feed.last_error),
    *(Feed.update_interval, Feed.enabled),
)
"""A FeedRecord's columns, in its order, before the two article counts."""


def _feed_select() -> Select[*tuple[Any, ...]]:
    """Feeds as plain rows of :data:`_COLUMNS` with their unread and total article counts, in
    one grouped query: the sidebar reads it after every open, and plain rows cost a third of
    the CPU of loaded objects (interpreter time that the window's thread waits on)."""
    unread = func.count(Article.id).filter(Article.read.is_(False))
    total = func.count(Article.id)
    return (
        select(*_COLUMNS, unread, total)
        .outerjoin(Article, Article.feed_id == Feed.id)
        .group_by(Feed.id)
    )


def _uncounted_select() -> Select[*tuple[Any, ...]]:
    """Feeds as plain rows of :data:`_COLUMNS` with 0 for both counts: what a refresh reads.
    Counting reads every article (0.3 s of wall time at 250,000 articles, before the first
    request of a refresh leaves), and plain rows cost a third of the CPU of loaded objects."""
    return select(*_COLUMNS, literal(0), literal(0))


def _record(row: Row[Any]) -> FeedRecord:
    """A FeedRecord from a row of :func:`_feed_select` or :func:`_uncounted_select`."""
    values = list(row)
    values[2] = values[2] or values[1]  # the title falls back to the address
    values[-2:] = (int(values[-2] or 0), int(values[-1] or 0))
    return FeedRecord(*values)


def _check_interval(update_interval: int) -> int:
    if update_interval <= 0:
        raise ValueError(f"update interval must be positive, got {update_interval}")
    return int(update_interval)


FOLDER_SEPARATOR = "/"
"""Between the parts of a nested folder's path: "News/Tech" is the folder Tech inside News."""


def _clean_folder(folder: str | None) -> str | None:
    """A folder path with blanks around its parts and empty parts dropped (None: no folder)."""
    if folder is None:
        return None
    parts = [part.strip() for part in folder.split(FOLDER_SEPARATOR)]
    return FOLDER_SEPARATOR.join(part for part in parts if part) or None


def in_folder(folder: str) -> ColumnElement[bool]:
    """True for a feed filed in ``folder`` or in a folder inside it, at any depth.

    Case-sensitive, as folder names are ("news" is not inside "News"), so not ``LIKE``.
    """
    prefix = folder + FOLDER_SEPARATOR
    return or_(Feed.folder == folder, func.substr(Feed.folder, 1, len(prefix)) == prefix)


def add_feed(
    s: Session,
    url: str,
    *,
    title: str | None = None,
    folder: str | None = None,
    site_url: str | None = None,
    update_interval: int | None = None,
) -> FeedRecord:
    """Subscribe to ``url``; a given ``title`` is the reader's and is never overwritten.

    Raises DuplicateFeedError when the URL is already subscribed.
    """
    url = url.strip()
    if not url:
        raise ValueError("a feed needs a URL")
    if s.scalar(select(Feed.id).where(Feed.url == url)) is not None:
        raise DuplicateFeedError(f"Already subscribed to {url}.")
    title = (title or "").strip()
    feed = Feed(
        url=url,
        title=title,
        title_auto=not title,
        site_url=site_url,
        folder=_clean_folder(folder),
        update_interval=(
            DEFAULT_UPDATE_INTERVAL if update_interval is None else _check_interval(update_interval)
        ),
        error_count=0,
        enabled=True,
        created=datetime.now(UTC),
    )
    s.add(feed)
    s.flush()
    logger.info("added feed %d %s", feed.id, url)
    record = get_feed(s, feed.id)
    assert record is not None  # just flushed in this session
    return record


def get_feed(s: Session, feed_id: int) -> FeedRecord | None:
    """The feed with this id, or None."""
    row = s.execute(_feed_select().where(Feed.id == feed_id)).one_or_none()
    return None if row is None else _record(row)


def feed_by_url(s: Session, url: str) -> FeedRecord | None:
    """The feed subscribed at exactly this URL, or None."""
    row = s.execute(_feed_select().where(Feed.url == url.strip())).one_or_none()
    return None if row is None else _record(row)


def list_feeds(s: Session, *, counts: bool = True) -> list[FeedRecord]:
    """All feeds with unread and total counts, by folder (none last), then title. Without
    ``counts`` both are 0, and the list costs a fraction (see :func:`_uncounted_select`)."""
    display_title = func.coalesce(func.nullif(Feed.title, ""), Feed.url)
    order = (Feed.folder.is_(None), func.lower(Feed.folder), func.lower(display_title), Feed.id)
    if not counts:
        return [_record(row) for row in s.execute(_uncounted_select().order_by(*order))]
    return [_record(row) for row in s.execute(_feed_select().order_by(*order))]


def folders(s: Session) -> list[str]:
    """Every folder path in use, the folders that only hold folders included ("News" for a
    feed filed in "News/Tech"), sorted case-insensitively."""
    query = select(Feed.folder).where(Feed.folder.is_not(None)).distinct()
    found: set[str] = set()
    for folder in s.scalars(query):
        if folder is None:
            continue
        parts = folder.split(FOLDER_SEPARATOR)
        found.update(FOLDER_SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return sorted(found, key=lambda name: (name.lower(), name))


def count_in_folder(s: Session, folder: str) -> int:
    """How many feeds are filed in ``folder`` or in a folder inside it."""
    return int(s.scalar(select(func.count(Feed.id)).where(in_folder(folder))) or 0)


def due_feeds(s: Session, now: datetime, *, counts: bool = True) -> list[FeedRecord]:
    """Enabled feeds never fetched or whose next fetch is at or before ``now``, the longest
    due first (never fetched, then by next fetch). Without ``counts`` their counts are 0 (see
    :func:`list_feeds`)."""
    due = Feed.next_fetch.is_(None) | (Feed.next_fetch <= to_utc(now))
    order = (Feed.next_fetch.is_not(None), Feed.next_fetch, Feed.id)
    if not counts:
        query = _uncounted_select().where(Feed.enabled.is_(True)).where(due).order_by(*order)
        return [_record(row) for row in s.execute(query)]
    query = _feed_select().where(Feed.enabled.is_(True)).where(due).order_by(*order)
    return [_record(row) for row in s.execute(query)]


def update_feed(
    s: Session,
    feed_id: int,
    *,
    title: str | _Unset | None = UNSET,
    folder: str | _Unset | None = UNSET,
    update_interval: int | _Unset = UNSET,
    enabled: bool | _Unset = UNSET,
    url: str | _Unset = UNSET,
) -> FeedRecord:
    """Change only the given fields of a feed and return it.

    A title given here is the reader's (an empty or None title goes back to the feed's
    own). A new URL forgets the conditional-GET state and makes the feed due now.
    Raises NotFoundError or DuplicateFeedError.
    """
    feed = s.get(Feed, feed_id)
    if feed is None:
        raise NotFoundError(f"There is no feed {feed_id}.")
    if not isinstance(title, _Unset):
        cleaned = (title or "").strip()
        feed.title = cleaned
        feed.title_auto = not cleaned
    if not isinstance(folder, _Unset):
        feed.folder = _clean_folder(folder)
    if not isinstance(update_interval, _Unset):
        feed.update_interval = _check_interval(update_interval)
    if not isinstance(enabled, _Unset):
        feed.enabled = bool(enabled)
    if not isinstance(url, _Unset):
        new_url = url.strip()
        if not new_url:
            raise ValueError("a feed needs a URL")
        if new_url != feed.url:
            other = s.scalar(select(Feed.id).where(Feed.url == new_url))
            if other is not None:
                raise DuplicateFeedError(f"Already subscribed to {new_url}.")
            feed.url = new_url
            feed.etag = None
            feed.last_modified = None
            feed.next_fetch = None
    s.flush()
    record = get_feed(s, feed_id)
    assert record is not None
    return record


def record_fetch_success(
    s: Session,
    feed_id: int,
    now: datetime,
    *,
    etag: str | None,
    last_modified: str | None,
    title: str | None = None,
    site_url: str | None = None,
) -> None:
    """Store a successful fetch (a 304 included) of one feed: :func:`record_fetch_successes`
    for it alone, so that one fetch and a batch of them are stored by the same rule (new
    validators, errors cleared, the feed's own ``title`` only while the reader has not named
    the feed). A feed deleted meanwhile is ignored."""
    if not record_fetch_successes(s, {feed_id: Fetched(etag, last_modified, title, site_url)}, now):
        logger.info("feed %d was deleted during its fetch", feed_id)


class Fetched(NamedTuple):
    """A successful fetch of one feed as :func:`record_fetch_successes` stores it: the new
    validators, and the feed's own title and site link when it was read (None for a 304)."""

    etag: str | None
    last_modified: str | None
    title: str | None = None
    site_url: str | None = None


def record_fetch_successes(s: Session, fetched: Mapping[int, Fetched], now: datetime) -> int:
    """Store many successful fetches (304s included) at once: the one rule for a successful
    fetch, which :func:`record_fetch_success` applies to a single feed. New validators, the
    fetch time, the next fetch one update interval later, errors cleared, the feed's own title
    while the reader has not named the feed, its site link when given. Two statements for the
    whole lot, not two per feed. Feeds deleted meanwhile are skipped; returns how many were
    updated. The session is flushed first and the feeds it has loaded are expired after, so that
    the update neither overwrites their pending changes nor is hidden by their stale copies."""
    if not fetched:
        return 0
    s.flush()
    now = to_utc(now)
    query = select(Feed.id, Feed.update_interval).where(Feed.id.in_(id_list(list(fetched))))
    intervals = {int(row[0]): int(row[1]) for row in s.execute(query)}
    rows = [
        {
            "_id": feed_id,
            "new_etag": one.etag,
            "new_last_modified": one.last_modified,
            "new_next_fetch": now + timedelta(seconds=intervals[feed_id]),
            "new_title": (one.title or "").strip(),
            "new_site_url": one.site_url or None,
        }
        for feed_id, one in fetched.items()
        if feed_id in intervals
    ]
    if rows:
        table: Any = Feed.__table__
        title = bindparam("new_title", type_=Text)
        named = and_(
            title != "", or_(table.c.title_auto.is_(True), func.coalesce(table.c.title, "") == "")
        )
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(
                etag=bindparam("new_etag"),
                last_modified=bindparam("new_last_modified"),
                next_fetch=bindparam("new_next_fetch"),
                last_fetch=now,
                error_count=0,
                last_error=None,
                title=case((named, title), else_=table.c.title),
                title_auto=case((named, true()), else_=table.c.title_auto),
                site_url=func.coalesce(bindparam("new_site_url", type_=Text), table.c.site_url),
            )
        )
        s.execute(statement, rows)
        for row in rows:  # a feed loaded in the session reads what was just written
            loaded = s.identity_map.get(s.identity_key(Feed, row["_id"]))
            if loaded is not None:
                s.expire(loaded)
    return len(rows)


def load(s: Session, feed_ids: Sequence[int]) -> list[Feed]:
    """Load these feeds into the session in one query, so that the per-feed writes that follow
    (:func:`record_fetch_success`, :func:`record_fetch_failure`) find them without a query each.
    Keep the list while they are used: the session holds its objects only weakly."""
    if not feed_ids:
        return []
    return list(s.scalars(select(Feed).where(Feed.id.in_(id_list(list(feed_ids))))))


def backoff(update_interval: int, error_count: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after the ``error_count``-th failure in a row.

    ``min(update_interval * 2**error_count, 24 h)``, or the server's Retry-After when
    that is longer (a negative, non-finite or absurd Retry-After is ignored or capped).
    """
    exponent = min(max(error_count, 0), 32)
    wait = min(timedelta(seconds=update_interval * 2**exponent), MAX_BACKOFF)
    if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return wait


def record_fetch_failure(
    s: Session, feed_id: int, now: datetime, message: str, *, retry_after: float | None = None
) -> None:
    """Count a failed fetch, keep its message and back off (see ``backoff``).

    A feed deleted meanwhile is ignored.
    """
    feed = s.get(Feed, feed_id)
    if feed is None:
        logger.info("feed %d was deleted during its fetch", feed_id)
        return
    now = to_utc(now)
    feed.error_count = feed.error_count + 1
    feed.last_error = message[:MAX_ERROR_LENGTH]
    feed.last_fetch = now
    feed.next_fetch = now + backoff(feed.update_interval, feed.error_count, retry_after)
    s.flush()


def delete_feed(s: Session, feed_id: int) -> None:
    """Unsubscribe: the feed goes with its articles, their impressions and clicks."""
    result: Any = s.execute(delete(Feed).where(Feed.id == feed_id))
    if result.rowcount == 0:
        raise NotFoundError(f"There is no feed {feed_id}.")
    logger.info("deleted feed %d", feed_id)


def set_next_fetch(s: Session, feed_ids: Sequence[int], when: datetime | None) -> None:
    """Make feeds due at ``when`` (None: now), e.g. for a forced refresh."""
    s.execute(update(Feed).where(Feed.id.in_(list(feed_ids))).values(next_fetch=when))
