"""What the reader was shown and opened, and the model versions trained on it.

``get_setting`` and ``set_setting`` live in ``app.storage.setting`` and are importable
from here too.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from app.storage.database import NotFoundError
from app.storage.record import (
    ClickRecord,
    FeedbackRecord,
    ImpressionRecord,
    MetricValue,
    ModelVersionRecord,
    ScreenRecord,
)
from app.storage.schema import (
    Article,
    Click,
    Feed,
    Feedback,
    Impression,
    ModelVersion,
    Screen,
    to_utc,
)
from app.storage.setting import delete_setting, get_setting, set_setting

__all__ = [
    "FEEDBACK_KINDS",
    "add_model_version",
    "click_history",
    "clicked_articles",
    "clicks_since",
    "delete_setting",
    "feedback",
    "get_setting",
    "impressions",
    "known_feeds",
    "latest_model_version",
    "list_model_versions",
    "record_click",
    "record_feedback",
    "record_impressions",
    "record_screen",
    "said_feeds",
    "screens",
    "set_setting",
    "undo_feedback",
]

FEEDBACK_KINDS = frozenset({"more", "less", "feed_more", "feed_less", "word_off"})
"""``more``/``less``: like this article (or not); ``feed_more``/``feed_less``: more or fewer
from this feed; ``word_off``: don't rank on this word."""

MAX_VISIBLE = 100
"""At most this many on-screen rows are kept with a click (a screen shows far fewer)."""

logger = logging.getLogger(__name__)

_CHUNK = 500


def _existing_articles(s: Session, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        found.update(s.scalars(select(Article.id).where(Article.id.in_(chunk))))
    return found


def record_impressions(
    s: Session, items: Sequence[tuple[int, int | None]], session: str, now: datetime
) -> int:
    """Log articles shown in ``session`` as (article id, position); returns how many are new.

    An article counts once per session: repeats, and ids of articles that no longer
    exist, are ignored.
    """
    if not items:
        return 0
    present = _existing_articles(s, [article_id for article_id, _ in items])
    rows: dict[int, dict[str, Any]] = {}
    time = to_utc(now)
    for article_id, position in items:
        if article_id in present and article_id not in rows:
            rows[article_id] = {
                "article_id": article_id,
                "session": session,
                "time": time,
                "position": position,
            }
    if not rows:
        return 0
    before = s.scalar(
        select(func.count()).select_from(Impression).where(Impression.session == session)
    )
    s.execute(insert(Impression).on_conflict_do_nothing(), list(rows.values()))
    after = s.scalar(
        select(func.count()).select_from(Impression).where(Impression.session == session)
    )
    return int(after or 0) - int(before or 0)


def record_screen(
    s: Session,
    key: str,
    *,
    view: str,
    filter: Mapping[str, Any],
    ordering: str,
    multi_feed: bool,
    now: datetime,
) -> None:
    """Log the start of one visit of a view; a key already logged is left as it was."""
    row = {
        "key": key,
        "view": view,
        "filter": json.dumps(dict(filter), sort_keys=True, default=str),
        "ordering": ordering,
        "multi_feed": bool(multi_feed),
        "started": to_utc(now),
    }
    s.execute(insert(Screen).on_conflict_do_nothing(), [row])


def screens(s: Session) -> dict[str, ScreenRecord]:
    """Every logged screen, by key."""
    return {
        row.key: ScreenRecord(
            key=row.key,
            view=row.view,
            filter=row.filter,
            ordering=row.ordering,
            multi_feed=bool(row.multi_feed),
            started=row.started,
        )
        for row in s.scalars(select(Screen))
    }


def record_click(
    s: Session,
    article_id: int,
    session: str,
    now: datetime,
    dwell: float | None = None,
    *,
    position: int | None = None,
    visible: Sequence[int] = (),
) -> int:
    """Log that the reader opened an article from screen ``session``; returns the click's id.

    ``position`` is its row on that screen and ``visible`` the articles on screen at that
    moment (at most :data:`MAX_VISIBLE` kept). A negative or non-finite ``dwell`` is stored
    as unknown. Raises NotFoundError for an unknown article.
    """
    if s.scalar(select(Article.id).where(Article.id == article_id)) is None:
        raise NotFoundError(f"There is no article {article_id}.")
    if dwell is not None and (not math.isfinite(dwell) or dwell < 0):
        dwell = None
    if position is not None and position < 0:
        position = None
    shown = [int(a) for a in list(dict.fromkeys(visible))[:MAX_VISIBLE]]
    click = Click(
        article_id=article_id,
        session=session,
        time=to_utc(now),
        dwell=dwell,
        position=position,
        visible=json.dumps(shown) if shown else None,
    )
    s.add(click)
    s.flush()
    return click.id


def _visible(raw: str | None) -> tuple[int, ...]:
    """The stored on-screen ids; anything unreadable is taken as unknown (empty)."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value[:MAX_VISIBLE] if isinstance(v, int) and not isinstance(v, bool))


def click_history(s: Session) -> list[ClickRecord]:
    """Every click, oldest first."""
    query = select(Click).order_by(Click.time, Click.id)
    return [
        ClickRecord(
            id=c.id,
            article_id=c.article_id,
            time=c.time,
            session=c.session,
            dwell=c.dwell,
            position=c.position,
            visible=_visible(c.visible),
        )
        for c in s.scalars(query)
    ]


def latest_clicks(s: Session, limit: int) -> list[tuple[int, datetime]]:
    """(article id, time) of the latest ``limit`` clicks, newest first (:func:`click_history`'s
    order reversed), without the rest of each record: what the reader vector is built from."""
    query = select(Click.article_id, Click.time).order_by(Click.time.desc(), Click.id.desc())
    return [(row[0], row[1]) for row in s.execute(query.limit(max(0, limit)))]


def opened_among(s: Session, article_ids: Sequence[int]) -> set[int]:
    """Which of these articles the reader has opened at least once."""
    wanted = list(dict.fromkeys(article_ids))
    query = select(Click.article_id).where(Click.article_id.in_(wanted)).distinct()
    return set(s.scalars(query)) if wanted else set()


def opened_feeds(s: Session, limit: int) -> list[int]:
    """The feed of each of the latest ``limit`` articles opened, newest first (one per article,
    at its latest open), less those said "less like this" of (not undone).

    Only the latest clicks are read (four times ``limit``, more while reopened or unwanted
    articles leave fewer than ``limit``): the score table asks after every open, and a year's
    log holds thousands of clicks (7 ms at 30,000 against 56 ms joining them all)."""
    if limit <= 0:
        return []
    less = select(Feedback.article_id).where(
        Feedback.kind == "less", Feedback.undone.is_(None), Feedback.article_id.is_not(None)
    )
    window = 4 * limit
    clicks: int | None = None  # how many the log holds, asked once and only when needed
    while True:
        latest = (
            select(Click.article_id, Click.time, Click.id)
            .order_by(Click.time.desc(), Click.id.desc())
            .limit(window)
            .subquery()
        )
        query = (
            select(latest.c.article_id, Article.feed_id)
            .join(Article, Article.id == latest.c.article_id)
            .where(latest.c.article_id.not_in(less))
            .order_by(latest.c.time.desc(), latest.c.id.desc())
        )
        rows = s.execute(query).all()
        order = list(dict.fromkeys(article for article, _ in rows))  # by latest open
        if len(order) >= limit:
            break
        if clicks is None:
            clicks = s.scalar(select(func.count()).select_from(Click)) or 0
        if clicks <= window:
            break
        window *= 4
    feed_of = {article: feed for article, feed in rows}
    return [feed_of[article] for article in order[:limit]]


def known_feeds(s: Session, *, shown: int, since: datetime | None = None) -> set[int]:
    """Feeds the reader knows beside the others: ``shown`` or more of their articles'
    impressions (at or after ``since`` when given) on screens where feeds compete (any view
    but a single feed's, or a folder of that feed alone; an impression logged before screens
    were recorded counts), or
    something said about them (:func:`said_feeds`).

    Opens do not make a feed known, nor do its headlines in its own view: a feed read only
    in its own view was never weighed against the others, so the model has no evidence of how
    it compares (its feed bias is fitted on competing screens alone)."""
    single = select(Screen.key).where(Screen.multi_feed.is_(False))
    counted = (
        select(Article.feed_id)
        .join(Impression, Impression.article_id == Article.id)
        .where(Impression.session.not_in(single))
        .group_by(Article.feed_id)
        .having(func.count() >= shown)
    )
    if since is not None:
        counted = counted.where(Impression.time >= to_utc(since))
    known = said_feeds(s)
    known.update(s.scalars(counted))
    return known


def said_feeds(s: Session) -> set[int]:
    """Feeds the reader said something about (feedback not undone), or about an article of
    (its feed is recorded with it)."""
    query = select(Feedback.feed_id).where(Feedback.undone.is_(None), Feedback.feed_id.is_not(None))
    return {f for f in s.scalars(query) if f is not None}


def record_feedback(
    s: Session,
    kind: str,
    now: datetime,
    *,
    article_id: int | None = None,
    feed_id: int | None = None,
    word: str | None = None,
) -> int:
    """Log an explicit judgement; returns its id.

    ``more``/``less`` need an article (its feed is recorded with it), ``feed_*`` a feed and
    ``word_off`` a word. Raises ValueError for an unknown kind or a missing subject and
    NotFoundError for an unknown article or feed.
    """
    if kind not in FEEDBACK_KINDS:
        raise ValueError(f"unknown feedback kind {kind!r}")
    if kind in ("more", "less"):
        if article_id is None:
            raise ValueError(f"{kind!r} feedback needs an article")
        feed_id = s.scalar(select(Article.feed_id).where(Article.id == article_id))
        if feed_id is None:
            raise NotFoundError(f"There is no article {article_id}.")
    elif kind in ("feed_more", "feed_less"):
        if feed_id is None or s.get(Feed, feed_id) is None:
            raise NotFoundError(f"There is no feed {feed_id}.")
        article_id = None
    else:
        word = (word or "").strip().casefold()
        if not word:
            raise ValueError("'word_off' feedback needs a word")
        article_id = None
        feed_id = None
    row = Feedback(kind=kind, article_id=article_id, feed_id=feed_id, word=word, time=to_utc(now))
    s.add(row)
    s.flush()
    return row.id


def undo_feedback(s: Session, feedback_id: int, now: datetime) -> bool:
    """Take a judgement back (it stays in the log, stamped ``undone``); False if unknown or
    already undone."""
    row = s.get(Feedback, feedback_id)
    if row is None or row.undone is not None:
        return False
    row.undone = to_utc(now)
    return True


def feedback(s: Session, *, include_undone: bool = False) -> list[FeedbackRecord]:
    """Explicit judgements, oldest first (only those in force unless ``include_undone``)."""
    query = select(Feedback).order_by(Feedback.time, Feedback.id)
    if not include_undone:
        query = query.where(Feedback.undone.is_(None))
    return [
        FeedbackRecord(
            id=f.id,
            kind=f.kind,
            article_id=f.article_id,
            feed_id=f.feed_id,
            word=f.word,
            time=f.time,
            undone=f.undone,
        )
        for f in s.scalars(query)
    ]


def impressions(s: Session, *, since: datetime | None = None) -> list[ImpressionRecord]:
    """Impressions (at or after ``since`` when given), oldest first."""
    query = select(
        Impression.article_id, Impression.time, Impression.session, Impression.position
    ).order_by(Impression.time, Impression.id)
    if since is not None:
        query = query.where(Impression.time >= to_utc(since))
    return [
        ImpressionRecord(article_id=row[0], time=row[1], session=row[2], position=row[3])
        for row in s.execute(query)
    ]


def clicks_since(s: Session, since_click_id: int) -> int:
    """How many clicks have an id greater than ``since_click_id``."""
    query = select(func.count()).select_from(Click).where(Click.id > since_click_id)
    return int(s.scalar(query) or 0)


def clicked_articles(s: Session) -> int:
    """How many distinct articles the reader has opened (many clicks on one count once)."""
    return int(s.scalar(select(func.count(func.distinct(Click.article_id)))) or 0)


def _clean_metrics(metrics: Mapping[Any, Any]) -> dict[str, MetricValue]:
    clean: dict[str, MetricValue] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            clean[str(key)] = int(value)
        elif value is None or isinstance(value, int | float | str):
            clean[str(key)] = value
        else:
            logger.warning("dropping metric %r of unsupported type %s", key, type(value).__name__)
    return clean


def _model_record(row: ModelVersion) -> ModelVersionRecord:
    try:
        metrics = json.loads(row.metrics)
    except ValueError:
        logger.warning("model version %d has unreadable metrics", row.id)
        metrics = {}
    return ModelVersionRecord(
        id=row.id,
        path=row.path,
        sha256=row.sha256,
        created=row.created,
        clicks_used=row.clicks_used,
        metrics=_clean_metrics(metrics) if isinstance(metrics, dict) else {},
    )


def add_model_version(
    s: Session,
    path: str,
    sha256: str,
    created: datetime,
    clicks_used: int,
    metrics: Mapping[str, MetricValue],
) -> ModelVersionRecord:
    """Record a new checkpoint; metrics of other types than number, string or None are dropped."""
    row = ModelVersion(
        path=str(path),
        sha256=sha256,
        created=to_utc(created),
        clicks_used=int(clicks_used),
        metrics=json.dumps(_clean_metrics(metrics)),
    )
    s.add(row)
    s.flush()
    return _model_record(row)


def latest_model_version(s: Session) -> ModelVersionRecord | None:
    """The newest model version, or None before the first training."""
    row = s.scalar(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(1))
    return None if row is None else _model_record(row)


def list_model_versions(s: Session) -> list[ModelVersionRecord]:
    """Every model version, oldest first."""
    return [_model_record(row) for row in s.scalars(select(ModelVersion).order_by(ModelVersion.id))]
