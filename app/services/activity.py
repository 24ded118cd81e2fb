"""What the reader is shown and what they open: screens, impressions and clicks, the model's
only signal.

A **screen** is one visit of one view (For you, Latest, a feed, a folder, Starred, a search)
with its filter and order; returning to a view later is a new screen. Impressions are logged
once per screen, with their row, and a click names the screen it came from, its row and the
rows on screen at that moment, so that training takes a click's negatives from what the
reader passed over beside it (:mod:`nrms_core.sampling`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.storage import articles, events, feeds
from app.storage.database import Database
from app.storage.error import HeedfulError

log = logging.getLogger(__name__)


class ActivityError(HeedfulError):
    """A click or impression could not be recorded; the message is for the reader."""


def new_session() -> str:
    """A fresh reading-session id."""
    return uuid.uuid4().hex


SCREEN_VIEWS = frozenset({"foryou", "latest", "feed", "folder", "starred", "search", "headless"})
"""The kinds of view a screen can be a visit of."""

HEADLESS_PAGE = 50
"""Rows above a headless click that its screen records (a page of ``list``)."""


def feeds_compete(s: Session, filter: Mapping[str, Any]) -> bool:
    """Whether feeds compete on a screen of the river's ``filter``: not where every row comes
    from one feed (a feed's view, a search inside it, a folder that holds one feed, with the
    folders inside it), whose clicks say nothing about the feed."""
    if filter.get("feed_id") is not None:
        return False
    folder = filter.get("folder")
    return not isinstance(folder, str) or feeds.count_in_folder(s, folder) > 1


def new_screen(
    db: Database,
    view: str,
    *,
    filter: Mapping[str, Any] | None = None,
    ordering: str = "latest",
    multi_feed: bool | None = None,
) -> str:
    """Start a visit of ``view`` and return its key, under which its impressions and clicks
    are logged. ``multi_feed`` is false for a view whose rows all come from one feed (None:
    :func:`feeds_compete` decides from ``filter``)."""
    if view not in SCREEN_VIEWS:
        raise ValueError(f"unknown view {view!r}")
    key = uuid.uuid4().hex
    log_screen(db, key, view, filter or {}, ordering, multi_feed)
    return key


def log_screen(
    db: Database,
    key: str,
    view: str,
    filter: Mapping[str, Any],
    ordering: str,
    multi_feed: bool | None = None,
) -> None:
    """Log a screen the window started under ``key`` (see :func:`new_screen`)."""
    if view not in SCREEN_VIEWS:
        raise ValueError(f"unknown view {view!r}")
    with db.write() as s:
        if multi_feed is None:
            multi_feed = feeds_compete(s, filter)
        events.record_screen(
            s,
            key,
            view=view,
            filter=filter,
            ordering=ordering,
            multi_feed=multi_feed,
            now=datetime.now(UTC),
        )


def record_impressions(db: Database, shown: Sequence[tuple[int, int | None]], session: str) -> int:
    """Log rows the reader saw on screen ``session``, as (article id, position); each article
    once per screen."""
    if not shown:
        return 0
    with db.write() as s:
        return events.record_impressions(s, shown, session, datetime.now(UTC))


def record_click(
    db: Database,
    article_id: int,
    session: str,
    *,
    dwell: float | None = None,
    shown_above: Sequence[int] = (),
    position: int | None = None,
    visible: Sequence[tuple[int, int]] = (),
) -> int:
    """Log that the reader opened an article from screen ``session``, and mark it read.

    ``shown_above`` are the articles the screen listed right above it (nearest last) and
    ``visible`` the (article id, row) pairs on screen at that moment; both are logged as
    impressions of the screen (if not already) so that training has what the reader passed
    over as negatives. ``position`` is the clicked row; when it is not given the row after
    ``shown_above`` is taken. Returns the click id.
    """
    now = datetime.now(UTC)
    if position is None:
        position = len(shown_above)
    above = list(shown_above)
    shown = [(a, position - len(above) + i) for i, a in enumerate(above)]
    shown += [(a, row) for a, row in visible]
    shown.append((article_id, position))
    with db.write() as s:
        if articles.get_article(s, article_id) is None:
            raise ActivityError(f"there is no article {article_id}")
        events.record_impressions(s, shown, session, now)
        click_id = events.record_click(
            s,
            article_id,
            session,
            now,
            dwell,
            position=position,
            visible=[a for a, _ in visible],
        )
        articles.set_read(s, [article_id], True)
    log.info(
        "click on article %d at row %d of screen %s (%d shown above, %d on screen)",
        article_id,
        position,
        session,
        len(shown_above),
        len(visible),
    )
    return click_id
