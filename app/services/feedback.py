"""Explicit feedback: "more / less like this", "more / fewer from this feed", "don't rank on
this word". Stored as events of their own, never confused with opens; training takes them as
strong labels and pins (:mod:`app.services.signal`), and every one can be taken back."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.explanation import ArticleExplanation, Said
from app.services.number import signed
from app.services.signal import pins_of
from app.storage import events
from app.storage.database import Database, NotFoundError
from app.storage.error import HeedfulError
from app.storage.record import FeedbackRecord
from app.storage.schema import Article, Feed

__all__ = [
    "FeedbackError",
    "Given",
    "Judgement",
    "bearing",
    "give",
    "judgements",
    "phrase",
    "said_on",
    "taken_in",
    "undo",
]

log = logging.getLogger(__name__)

_SLACK = 1e-6
"""How far a feed's bias (a float32 of the model's) may sit from its bound and still be held."""

_PHRASES = {
    "more": "more like “{article}”",
    "less": "less like “{article}”",
    "feed_more": "more from {feed}",
    "feed_less": "fewer from {feed}",
    "word_off": "don't rank on “{word}”",
}


class FeedbackError(HeedfulError):
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


def taken_in(kind: str) -> str:
    """When For you takes a judgement in: "more / less like this" at once (the reader vector is
    built from the history they change), the others (pins on a feed's or a word's bias) at the
    next training round."""
    return "now" if kind in ("more", "less") else "at the next training round"


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


def bearing(
    db: Database, explanation: ArticleExplanation, feed_id: int | None
) -> ArticleExplanation:
    """``explanation`` (of an article of feed ``feed_id``) with what the reader said that bears
    on it and the title words "don't rank on this word" reaches, so that "Why this?" can give
    the reader's own word back and offer only links that do something."""
    with db.read() as s:
        given = events.feedback(s)
        feed = ""
        if feed_id is not None:
            row = s.get(Feed, feed_id)
            feed = (row.title or row.url) if row is not None else ""
    return dataclasses.replace(
        explanation,
        said=said_on(explanation, given, feed_id, feed),
        rankable=_rankable(explanation),
    )


def said_on(
    explanation: ArticleExplanation,
    given: Sequence[FeedbackRecord],
    feed_id: int | None,
    feed: str = "",
) -> tuple[Said, ...]:
    """The judgements in force (``given``, oldest first) that bear on ``explanation``, each
    saying only what its pin or label does: a feed's bound holds the feed's own bias (its
    "how often you open" part) and a word's holds that word's own click bias at 0, both from
    the round after the judgement; the model's reading of the words is left as it is."""
    found: list[Said] = []
    mine = {f.kind for f in given if f.article_id == explanation.article_id}
    if "less" in mine:  # less wins over more, as training takes it
        found.append(Said("less", "You said: less like this. Training counts it as passed over."))
    elif "more" in mine:
        found.append(Said("more", "You said: more like this. Training counts it as opened."))
    pins = pins_of(given)
    if feed_id is not None and feed_id in pins.feeds:
        found.append(_feed_said(explanation, pins.feeds[feed_id], feed))
    seen: set[str] = set()
    for word in explanation.title_words:
        token = word.token.casefold()
        if token in pins.words_off and token not in seen:
            seen.add(token)
            found.append(_word_said(explanation, token))
    return tuple(found)


def _feed_said(
    explanation: ArticleExplanation, bounds: tuple[float | None, float | None], feed: str
) -> Said:
    floor, ceiling = bounds
    share = explanation.feed_share
    if ceiling is not None:
        kind, bound, held = (
            "feed_less",
            f"at or below {signed(ceiling, 2)}",
            share <= ceiling + _SLACK,
        )
    else:
        low = 0.0 if floor is None else floor
        kind, bound, held = "feed_more", f"at or above {signed(low, 2)}", share >= low - _SLACK
    part = "its own part (how often you open it)"
    if held:
        text = f"{part} is held {bound}; here it is {signed(share)}"
    else:
        text = f"from the next training round {part} is held {bound}; here it is {signed(share)}"
    return Said(kind, f"You said: {phrase(kind, feed=feed)}: {text}.")


def _word_said(explanation: ArticleExplanation, token: str) -> Said:
    same = [w for w in explanation.title_words if w.token.casefold() == token]
    bias = sum(w.bias for w in same)
    share = sum(w.share for w in same)
    if bias == 0.0:
        text = (
            f"its own click bias is held at 0, and the model's reading of it still counts "
            f"({signed(share)})"
        )
    else:
        text = (
            "from the next training round its own click bias is held at 0; "
            f"here it is {signed(bias)}"
        )
    return Said("word_off", f"You said: {phrase('word_off', word=token)}: {text}.", token)


def _rankable(explanation: ArticleExplanation) -> frozenset[str]:
    # nltk takes about half a second to load: only here, on the job pool, never at start-up
    from nrms_core import content_words

    return frozenset(content_words(w.token for w in explanation.title_words))


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
