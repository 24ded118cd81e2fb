"""Explicit feedback: "more / less like this", "more / fewer from this feed", "don't rank on
this word". Stored as events of their own, never confused with opens; training takes them as
strong labels and pins (:mod:`app.services.signal`), and every one can be taken back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage import events
from app.storage.database import Database, NotFoundError
from app.storage.schema import Article, Feed

__all__ = ["FeedbackError", "Given", "Judgement", "give", "judgements", "phrase", "undo"]

log = logging.getLogger(__name__)

_PHRASES = {
    "more": "more like “{article}”",
    "less": "less like “{article}”",
    "feed_more": "more from {feed}",
    "feed_less": "fewer from {feed}",
    "word_off": "don't rank on “{word}”",
}


class FeedbackError(Exception):
    """The feedback could not be recorded; the message is for the reader."""


@dataclass(frozen=True)
class Given:
    """A judgement just recorded: its id, kind, and how to say it back to the reader."""

    id: int
    kind: str
    text: str


@dataclass(frozen=True)
class Judgement:
    """A judgement as the Model page lists it."""

    id: int
    kind: str
    text: str
    time: datetime
    undone: datetime | None
    article_id: int | None
    feed_id: int | None
    word: str | None


def phrase(kind: str, *, article: str = "", feed: str = "", word: str = "") -> str:
    """How a judgement reads: "fewer from BBC News", "don't rank on “election”"."""
    short = article if len(article) <= 60 else article[:59] + "…"
    return _PHRASES.get(kind, kind).format(article=short, feed=feed or "this feed", word=word)


def give(
    db: Database,
    kind: str,
    *,
    article_id: int | None = None,
    feed_id: int | None = None,
    word: str | None = None,
) -> Given:
    """Record a judgement and return it; raises FeedbackError for one that names nothing."""
    now = datetime.now(UTC)
    try:
        with db.write() as s:
            feedback_id = events.record_feedback(
                s, kind, now, article_id=article_id, feed_id=feed_id, word=word
            )
            (item,) = [f for f in events.feedback(s) if f.id == feedback_id]
            text = _text_of(s, item.kind, item.article_id, item.feed_id, item.word)
    except (ValueError, NotFoundError) as exc:
        raise FeedbackError(str(exc)) from None
    log.info("feedback %d: %s", feedback_id, kind)
    return Given(feedback_id, kind, text)


def undo(db: Database, feedback_id: int) -> bool:
    """Take a judgement back (it stays in the log, marked undone); False if there was none."""
    with db.write() as s:
        return events.undo_feedback(s, feedback_id, datetime.now(UTC))


def judgements(db: Database, *, include_undone: bool = True) -> list[Judgement]:
    """Every judgement, newest first, with its text."""
    with db.read() as s:
        given = events.feedback(s, include_undone=include_undone)
        return [
            Judgement(
                f.id,
                f.kind,
                _text_of(s, f.kind, f.article_id, f.feed_id, f.word),
                f.time,
                f.undone,
                f.article_id,
                f.feed_id,
                f.word,
            )
            for f in reversed(given)
        ]


def _text_of(
    s: Session, kind: str, article_id: int | None, feed_id: int | None, word: str | None
) -> str:
    title = ""
    if article_id is not None:
        title = s.scalar(select(Article.title).where(Article.id == article_id)) or ""
    feed = ""
    if feed_id is not None:
        row = s.get(Feed, feed_id)
        feed = (row.title or row.url) if row is not None else ""
    return phrase(kind, article=title, feed=feed, word=word or "")
