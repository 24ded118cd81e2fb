"""Retention: the per-feed cap on unread articles and the purge of old ones, both sparing
what the reader's signal needs and tombstoning what they remove."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from app.storage import churn
from app.storage.batch import chunks, id_list
from app.storage.schema import (
    SORT_TIME,
    Article,
    Click,
    Feedback,
    Impression,
    Tombstone,
    UTCDateTime,
    to_utc,
)
from app.storage.setting import get_setting

logger = logging.getLogger(__name__)

_ARTICLES = cast(Table, Article.__table__)


UNREAD_CAP_SETTING = "feed_unread_cap"
DEFAULT_UNREAD_CAP = 2000
"""Most unread articles a feed keeps (setting ``feed_unread_cap``; 0 or less: no cap). The
default is the parser's entry cap per fetch, so that no single fetch is cut short."""


class FromSetting(Enum):
    """The type of :data:`FROM_SETTING` (an enum of one, so that type checkers narrow it)."""

    FROM_SETTING = "from the setting"


FROM_SETTING: Final = FromSetting.FROM_SETTING
"""Stands for the unread cap where it is not given: :func:`unread_cap` reads it when needed.
A refresh batch reads it once and passes the number to each of its feeds instead."""


def unread_cap(s: Session) -> int | None:
    """The per-feed cap on unread articles, None when the reader turned it off."""
    raw = get_setting(s, UNREAD_CAP_SETTING)
    try:
        cap = DEFAULT_UNREAD_CAP if raw is None else int(raw)
    except ValueError:
        logger.warning("ignoring the unreadable %s setting %r", UNREAD_CAP_SETTING, raw)
        cap = DEFAULT_UNREAD_CAP
    return cap if cap > 0 else None


def cap_unread(s: Session, feed_id: int, cap: int | None, now: datetime) -> list[int]:
    """Purge the feed's oldest unread articles beyond the newest ``cap``; returns their ids.

    Never purged: starred articles and those the reader's signal needs (clicked, given
    feedback, on a clicked screen). Each purged one is tombstoned under its dedup key and its
    title and link, so neither the feed nor GUID churn brings it back.
    """
    if cap is None:
        return []
    unread = and_(Article.feed_id == feed_id, Article.read.is_(False))
    count = s.scalar(select(func.count()).select_from(Article).where(unread)) or 0
    if count <= cap:
        return []
    newest = (
        select(Article.id).where(unread).order_by(SORT_TIME.desc(), Article.id.desc()).limit(cap)
    )
    doomed_rows = s.execute(
        select(Article.id, Article.dedup_key, Article.title, Article.url).where(
            unread,
            Article.starred.is_(False),
            Article.id.not_in(newest),
            ~_kept_for_training(),
        )
    ).all()
    if not doomed_rows:
        return []
    stones: list[dict[str, Any]] = []
    for _, key, title, url in doomed_rows:
        stones.append({"feed_id": feed_id, "dedup_key": key, "purged": now})
        content = churn.content_key(title, url)
        if content is not None:
            stones.append({"feed_id": feed_id, "dedup_key": content, "purged": now})
    s.execute(insert(Tombstone).prefix_with("OR IGNORE"), stones)
    ids = [row[0] for row in doomed_rows]
    for chunk in chunks(ids):
        s.execute(delete(Article).where(Article.id.in_(chunk)))
    s.execute(update(_ARTICLES).where(_ARTICLES.c.story_id.in_(id_list(ids))).values(story_id=None))
    logger.info("feed %d: purged %d unread articles beyond the cap of %d", feed_id, len(ids), cap)
    return ids


_VISIBLE_IDS = text(
    "SELECT CAST(value AS INTEGER) AS value FROM clicks, json_each(clicks.visible) "
    "WHERE json_valid(clicks.visible) AND json_type(clicks.visible) = 'array'"
).columns(column("value", Integer))
"""Every article id that was on screen beside a click (``clicks.visible``)."""


def _kept_for_training() -> ColumnElement[bool]:
    """True for an article that the reader's signal needs: clicked, given feedback, shown
    on a screen (impression session) that holds a click, or on screen beside a click.

    A click trains against the rows passed over on its own screen; purging those rows would
    cascade their impressions away and leave the kept clicks without negatives.
    """
    clicked = exists().where(Click.article_id == Article.id)
    judged = exists().where(Feedback.article_id == Article.id)
    on_clicked_screen = exists().where(
        Impression.article_id == Article.id,
        Impression.session.in_(select(Click.session)),
    )
    return or_(clicked, judged, on_clicked_screen, Article.id.in_(_VISIBLE_IDS))


def purge_old(
    s: Session, now: datetime, older_than_days: int, *, unread_days: int | None = None
) -> int:
    """Delete read articles last read more than ``older_than_days`` ago; returns how many.

    Age counts from ``read_at``, never from publication: an old article read a minute ago
    stays for the whole window. Read articles without ``read_at`` (profiles from before
    schema v3) are stamped ``now`` first, so their window starts at the first purge after
    the upgrade. Unread articles are purged only when ``unread_days`` is given, counting
    from when they were fetched. Never purged: starred articles, clicked ones, ones given
    feedback, and the articles on the screens of kept clicks (their impressions are the
    clicks' negatives). Each purged (feed, dedup key) is kept as a tombstone so the feed
    cannot bring it back unread; copies folded into a purged story become their own story.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be >= 0, got {older_than_days}")
    if unread_days is not None and unread_days < 0:
        raise ValueError(f"unread_days must be >= 0, got {unread_days}")
    now = to_utc(now)
    stamped: Any = s.execute(
        update(_ARTICLES)
        .where(_ARTICLES.c.read.is_(True), _ARTICLES.c.read_at.is_(None))
        .values(read_at=now)
    )
    if stamped.rowcount:
        logger.info(
            "%d read articles had no read time; their retention starts now", stamped.rowcount
        )
    cutoff = now - timedelta(days=older_than_days)
    expired = and_(Article.read.is_(True), Article.read_at < cutoff)
    if unread_days is not None:
        unread_cutoff = now - timedelta(days=unread_days)
        expired = or_(expired, and_(Article.read.is_(False), Article.fetched < unread_cutoff))
    doomed = and_(expired, Article.starred.is_(False), ~_kept_for_training())
    bury = (
        insert(Tombstone)
        .prefix_with("OR IGNORE")
        .from_select(
            ["feed_id", "dedup_key", "purged"],
            select(Article.feed_id, Article.dedup_key, literal(now, UTCDateTime)).where(doomed),
        )
    )
    s.execute(bury)
    s.execute(churn.bury_content(doomed, now))  # nor under a new GUID
    result: Any = s.execute(delete(Article).where(doomed))
    purged = int(result.rowcount)
    if purged:
        s.execute(
            update(_ARTICLES)
            .where(
                _ARTICLES.c.story_id.is_not(None),
                _ARTICLES.c.story_id.not_in(select(_ARTICLES.c.id)),
            )
            .values(story_id=None)
        )
        logger.info("purged %d articles read more than %d days ago", purged, older_than_days)
    return purged
