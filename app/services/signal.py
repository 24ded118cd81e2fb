"""What the reader's log teaches a training round: clicks with their screens, what was passed
over beside them, and the explicit feedback the reader gave.

Kept apart from the round itself (:mod:`app.services.tuning`) so that the rules that decide
what counts as a positive, a negative or a pin are in one place and can be tested on data.

- A click recorded with its screen row is a positive; its negatives are the rows passed over
  on the same screen (:mod:`nrms_core.sampling`, ``screens=True``). A click recorded before
  screens existed has no row: it stays in the reader's history (it shaped the reader
  vector), but trains nothing by itself, since nothing says what was beside it.
- "More like this" on an article is a positive even without an open, at the row of the
  screen where it was last shown (history only when it was never shown), and it is never a
  negative.
- "Less like this" takes back any open of that article (a misclick stays a misclick) and
  makes it a negative of the clicks nearest in time.
- How often the reader opens a feed's articles, and titles with a given word, among all they
  were shown on any screen, is where the feed's and the word's biases start
  (:func:`exposures`, fitted by :meth:`nrms_core.Recommender.fit_priors`). Opens inside a
  feed's own view say nothing about the feed when its rows are compared with each other, nor
  a search screen's about the searched word, which all its rows carry; but choosing that
  view, or that search, and opening there again and again does; one misclick in Latest,
  against a handful of consistent opens elsewhere, does not.
- "More / fewer from this feed" and "don't rank on this word" are pins on the click score's
  biases, set after each round's fit (:meth:`nrms_core.recommender.Recommender.pin_biases`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.storage import events
from app.storage.database import Database
from app.storage.record import ClickRecord, FeedbackRecord, ImpressionRecord

__all__ = [
    "FEED_CEILING",
    "FEED_FLOOR",
    "Pins",
    "Signal",
    "TrainClick",
    "TrainImpression",
    "exposures",
    "holdout_start",
    "load",
    "pins_of",
]

FEED_CEILING = -2.0
"""The highest bias a feed the reader wants fewer of may keep."""

FEED_FLOOR = 1.0
"""The lowest bias a feed the reader wants more of may keep."""


@dataclass(frozen=True)
class TrainClick:
    """One positive: ``session`` is its screen's key, ``position`` its row (None: legacy),
    ``visible`` the articles on screen when it was opened; ``time`` in epoch seconds."""

    article_id: int
    time: float
    session: str
    position: int | None
    visible: tuple[int, ...]


@dataclass(frozen=True)
class TrainImpression:
    """One row the reader was shown; ``time`` in epoch seconds."""

    article_id: int
    time: float
    session: str
    position: int | None


@dataclass(frozen=True)
class Pins:
    """The biases the reader set: per feed id a (floor, ceiling), and words not to rank on."""

    feeds: Mapping[int, tuple[float | None, float | None]] = field(default_factory=dict)
    words_off: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Signal:
    """Everything a round learns from, in the order the sampler wants."""

    clicks: tuple[TrainClick, ...]
    impressions: tuple[TrainImpression, ...]
    never_negative: frozenset[int]
    extra_negatives: tuple[tuple[int, float], ...]
    pins: Pins
    distinct_opened: int


def pins_of(feedback: Sequence[FeedbackRecord]) -> Pins:
    """The pins in force: the latest word of the reader on each feed wins."""
    feeds: dict[int, tuple[float | None, float | None]] = {}
    words: set[str] = set()
    for item in feedback:
        if item.kind == "feed_less" and item.feed_id is not None:
            feeds[item.feed_id] = (None, FEED_CEILING)
        elif item.kind == "feed_more" and item.feed_id is not None:
            feeds[item.feed_id] = (FEED_FLOOR, None)
        elif item.kind == "word_off" and item.word:
            words.add(item.word)
    return Pins(feeds, frozenset(words))


def _last_shown(shown: Sequence[ImpressionRecord]) -> dict[int, ImpressionRecord]:
    last: dict[int, ImpressionRecord] = {}
    for imp in shown:  # oldest first: the last one wins
        if imp.position is not None:
            last[imp.article_id] = imp
    return last


def build(
    clicks: Sequence[ClickRecord],
    shown: Sequence[ImpressionRecord],
    feedback: Sequence[FeedbackRecord],
    titled: Mapping[int, object] | set[int],
) -> Signal:
    """The round's signal from the log (pure; see the module docstring for the rules).

    ``titled`` holds the articles that still exist with a title; anything else is dropped.
    """
    less = {f.article_id: f.time.timestamp() for f in feedback if f.kind == "less"}
    more = [f for f in feedback if f.kind == "more" and f.article_id not in less]
    positives = [
        TrainClick(c.article_id, c.time.timestamp(), c.session, c.position, c.visible)
        for c in clicks
        if c.article_id in titled and c.article_id not in less
    ]
    opened = {c.article_id for c in positives}
    last = _last_shown(shown)
    for item in more:
        article = item.article_id
        if article is None or article not in titled or article in opened:
            continue
        where = last.get(article)
        positives.append(
            TrainClick(
                article,
                item.time.timestamp(),
                where.session if where is not None else f"feedback-{item.id}",
                where.position if where is not None else None,
                (),
            )
        )
        opened.add(article)
    positives.sort(key=lambda c: c.time)
    impressions = tuple(
        TrainImpression(i.article_id, i.time.timestamp(), i.session, i.position)
        for i in shown
        if i.article_id in titled
    )
    never = frozenset(opened | {f.article_id for f in more if f.article_id is not None})
    negatives = tuple(
        (article, t) for article, t in less.items() if article is not None and article in titled
    )
    return Signal(
        clicks=tuple(positives),
        impressions=impressions,
        never_negative=never,
        extra_negatives=negatives,
        pins=pins_of(feedback),
        distinct_opened=len(opened),
    )


def load(db: Database, titled: Mapping[int, object] | set[int]) -> Signal:
    """Read the log and build the round's signal (see :func:`build`)."""
    with db.read() as s:
        clicks = events.click_history(s)
        shown = events.impressions(s)
        given = events.feedback(s)
    return build(clicks, shown, given, titled)


def exposures(signal: Signal, *, before: float | None = None) -> tuple[list[int], set[int]]:
    """The distinct articles the reader was shown on any screen (opened ones included), in
    the order first shown, and those they opened. What the click biases start from
    (:meth:`nrms_core.Recommender.fit_priors`).

    With ``before`` (epoch seconds, the first held-out click): only what happened before the
    screen that click came from was shown, so that a round's held-out clicks do not inform the
    priors it is judged with. The cut is the screen's first impression, not the click: a
    screen's rows are logged as they appear, before any of them is opened, so cutting at the
    click would keep the rows of the held-out screens and drop their opens, and the feed the
    reader read last (often their newest interest) would look shown and passed over."""
    cut = before
    if before is not None:
        held = {c.session for c in signal.clicks if c.time >= before}
        starts = [i.time for i in signal.impressions if i.session in held]
        cut = min([before, *starts])
    shown = [i.article_id for i in signal.impressions if cut is None or i.time < cut]
    opened = {c.article_id for c in signal.clicks if cut is None or c.time < cut}
    return list(dict.fromkeys([*shown, *sorted(opened - set(shown))])), opened


def holdout_start(signal: Signal, share: float) -> float | None:
    """The time of the first of the latest ``share`` of the trainable clicks (those with a
    screen row), which a round holds out; None when there are none."""
    trainable = sorted(c.time for c in signal.clicks if c.position is not None)
    if not trainable:
        return None
    kept = max(1, round(len(trainable) * (1.0 - share)))
    return trainable[kept] if kept < len(trainable) else trainable[-1] + 1.0
