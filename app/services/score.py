"""The one score the river is ordered by, in parts: the model's click score, freshness, and
feed spreading.

Every place that shows a score (For you, Latest, search results, "Why this?", ``list --json``
and ``explain --json``) reads it from one :class:`ScoreTable`, built over the unread river
(For you's pool) whatever view asks, so the same article shows the same number everywhere for
the same model version and the same moment (``now`` is taken to the minute).

All three parts are in the click score's own units (log-odds of an open), so they add up:

- freshness = FRESHNESS_WEIGHT · σ · 2^(−age / FRESHNESS_HALF_LIFE_H), with σ the spread of the
  pool's click scores, so that a new article gets a lift the size of a fraction of that spread;
- spreading keeps the top varied, and keeps the feeds the reader reads in it, without
  reordering anything below it. Let b be an
  article's click score plus freshness, k how many articles of the same feed rank above it by
  b, A_f = TOP · max(1/3, p_f) how many of the top the feed may fill (p_f: the feed's share of
  the reader's recent opens), and F the floor of the "fair" top: the lowest b of the best TOP
  articles among those within their feed's allowance (k + 1 ≤ A_f). Then
  - a member of the fair top (within its allowance, b ≥ F) gives up part of its lead over
    the floor, SPREADING · (b − F) · (k / A_f)³: a feed's first article nothing, its later
    ones more, so the feeds interleave, and it never falls below F;
  - an article past its feed's allowance with b at or above F lands just below the floor,
    at F − BELOW · (2 − tanh((b − F) / σ)) (between F − 2·BELOW and F − BELOW, the better
    ones higher), so no feed fills more than A_f of the top (a third, unless the reader's
    own opens are more concentrated) and the article waits right under the top instead of
    sinking beneath articles of less worth;
  - the best unread article of a feed the reader keeps opening (a seat: at least
    :data:`SEAT_OPENS` of their latest :data:`SEAT_WINDOW` opens and :data:`SEAT_SHARE` of
    them) that ranks below the floor, yet above the pool's median b, is lifted just above it, to
    F + BELOW · (1 + tanh((b − F) / σ)) (between F and F + BELOW, the better ones higher):
    a feed the reader reads is never buried under the other feeds' top (the top-N of a
    recommender matched to the mix of the reader's own history, as in Steck's "calibrated
    recommendations", RecSys 2018, kept here to one article a feed);
  - the best unread article of a feed the reader has hardly been shown beside the others
    (fewer than :data:`EXPLORE_SHOWN` of its headlines on screen in views where feeds
    compete, its own view not counted, and no "more" or "fewer from this feed" said) that
    ranks below the floor waits just under the top, at
    F − BELOW · (1 − tanh((b − F) / σ)) / 2 (between F − BELOW and F − BELOW / 2, under the
    top and above what waits past its allowance), for the :data:`EXPLORE_SEATS` such feeds
    with the best b: the model has no evidence either way on a feed it never showed, so
    its score, mostly the feed's prior, would bury the feed for good where one look lets
    the reader's opens or skips teach it (a reader who never visits a feed cannot show
    that they like it, one who reads it only in its own view never weighs it against the
    others, and the feed bias is fitted where feeds compete; a new subscription is seen at
    once);
  - every other article keeps b: below the top the order is the click score's (and
    freshness's), which is what the reader's interest says.
  Within a feed the order is kept (b falls and the loss grows as k grows), so the displayed
  score is exactly the order, and the spreading is never more than an article's lead over
  the floor plus 2·BELOW.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

FRESHNESS_HALF_LIFE_H = 36.0
FRESHNESS_WEIGHT = 0.6
"""A brand-new article's lift, in spreads (σ) of the pool's click scores."""
SPREADING = 1.0
"""The part of its lead over the fair top's floor that a feed's article with A_f of its own
above it gives up (its first article gives up none)."""
SPREADING_POWER = 3
BELOW = 0.01
"""How far below the fair top's floor (log-odds) an article past its feed's allowance lands: it
ranks under every member of the top and above every article of less worth."""
TOP = 30
"""The length of the top the spreading keeps varied."""
FAIR_SHARE = 1.0 / 3.0
"""The share of the top any one feed may fill when the reader's opens are not concentrated."""
SEAT_OPENS = 3
"""Recent opens of one feed from which its best unread article has a seat in the top."""
SEAT_SHARE = 0.1
"""The share of the recent opens a feed needs for a seat in the top, as well."""
SEAT_WINDOW = 200
"""How many of the latest opens a seat is counted over: more than the reader vector's 50, so
that a feed read in bursts (a day of it, then a day of another) keeps its seat between them."""
EXPLORE_SHOWN = 10
"""Headlines of a feed shown to the reader where feeds compete (impressions in any view but
the feed's own) from which its best unread article no longer waits under the top."""
EXPLORE_SEATS = 10
"""At most this many barely shown feeds have their best article wait under the top (those
with the best click score plus freshness): more would push the articles the model does know
the reader wants from right under the top."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RankedScore:
    """One article's ranked score and its parts: ``total`` = click + freshness + spreading."""

    click: float
    freshness: float
    spreading: float
    above: int = 0
    """How many articles of the same feed rank above it (what the spreading counts)."""
    allowance: float = TOP * FAIR_SHARE
    """How many of the top the feed may fill before the spreading weighs in fully."""
    exploring: bool = False
    """Its spreading is a barely shown feed's wait under the top (see :func:`penalty`)."""

    @property
    def total(self) -> float:
        """The score the river orders by and every view shows."""
        return self.click + self.freshness + self.spreading


def freshness(ages_hours: npt.ArrayLike, sigma: float) -> FloatArray:
    """Freshness [N] of articles of these ages in hours [N] (a negative age counts as 0)."""
    ages = np.maximum(np.asarray(ages_hours, np.float64), 0.0)
    return np.asarray(FRESHNESS_WEIGHT * sigma * np.exp2(-ages / FRESHNESS_HALF_LIFE_H))


def allowances(feeds: IntArray, opens: Mapping[int, float]) -> FloatArray:
    """A_f [N] of each article's feed: TOP · max(FAIR_SHARE, the feed's share of opens)."""
    share = np.asarray([opens.get(int(f), 0.0) for f in feeds], np.float64)
    return np.asarray(TOP * np.maximum(FAIR_SHARE, share))


def open_shares(feed_of_opens: list[int]) -> dict[int, float]:
    """Each feed's share of the reader's opens (``feed_of_opens``: one feed id per open)."""
    if not feed_of_opens:
        return {}
    ids, counts = np.unique(np.asarray(feed_of_opens, np.int64), return_counts=True)
    return {int(f): float(c) / len(feed_of_opens) for f, c in zip(ids, counts, strict=True)}


def seats(feed_of_opens: list[int]) -> frozenset[int]:
    """The feeds whose best unread article has a seat in the top (``feed_of_opens``: one feed
    id per recent open): :data:`SEAT_OPENS` opens or more and :data:`SEAT_SHARE` of them. A
    misclick or two never earns one; a feed the reader keeps coming back to does."""
    if not feed_of_opens:
        return frozenset()
    ids, counts = np.unique(np.asarray(feed_of_opens, np.int64), return_counts=True)
    least = max(SEAT_OPENS, SEAT_SHARE * len(feed_of_opens))
    return frozenset(int(f) for f, c in zip(ids, counts, strict=True) if c >= least)


def explorers(
    base: FloatArray, feeds: IntArray, k: IntArray, floor: float | None, known: frozenset[int]
) -> frozenset[int]:
    """The barely shown feeds whose best article waits under the top: of the feeds not in
    ``known`` (those the reader has been shown :data:`EXPLORE_SHOWN` headlines of beside
    others, or said something about), the :data:`EXPLORE_SEATS` whose best article (``k``
    [N] = 0) has the highest ``base`` [N] below ``floor``."""
    if floor is None:
        return frozenset()
    best = (k == 0) & (base < floor) & ~np.isin(feeds, list(known))  # [N]
    rows = np.flatnonzero(best)
    chosen = rows[np.argsort(-base[rows], kind="stable")[:EXPLORE_SEATS]]
    return frozenset(int(f) for f in feeds[chosen])


def within_feed_rank(base: FloatArray, feeds: IntArray) -> IntArray:
    """k [N]: how many articles of the same feed have a higher ``base`` (ties: earlier first)."""
    order = np.lexsort((-base, feeds))  # by feed, then best first; stable on ties
    sorted_feeds = feeds[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_feeds)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    k = np.empty(len(order), np.int64)
    k[order] = np.arange(len(order)) - run_start
    return k


def penalty(
    k: npt.ArrayLike,
    allowance: npt.ArrayLike,
    base: npt.ArrayLike,
    floor: float | None,
    sigma: float = 1.0,
    seated: npt.ArrayLike | None = None,
    worth: float | None = None,
    exploring: npt.ArrayLike | None = None,
) -> FloatArray:
    """The spreading [N] of articles with ``k`` of their feed above them [N], ``base`` [N]
    their click score plus freshness, ``floor`` the fair top's lowest (None: an empty pool,
    no spreading) and ``sigma`` the spread of the pool's click scores: ≤ 0, except for the
    best article of a feed with a seat (``seated`` [N] bool, see :func:`seats`) that ranks
    below the floor but at or above ``worth`` (the pool's median b), which it lifts just
    above the floor, and for the best article of a barely shown feed (``exploring`` [N]
    bool, see :func:`explorers`) below the floor, which it lifts to just under it."""
    b = np.asarray(base, np.float64)
    if floor is None:
        return np.zeros_like(b)
    ks = np.asarray(k, np.float64)
    allowed = np.asarray(allowance, np.float64)
    past = ks + 1.0 > allowed  # the article that takes the feed past its allowance, and later
    lead = b - floor
    scale = max(sigma, 1e-9)
    share = np.minimum(ks / allowed, 1.0) ** SPREADING_POWER
    interleave = -SPREADING * np.maximum(lead, 0.0) * share
    landing = floor - BELOW * (2.0 - np.tanh(lead / scale))
    held = np.minimum(b, landing) - b  # just under the floor, or where it was if lower already
    out = np.where(past, held, interleave)
    if exploring is not None:
        waits = np.asarray(exploring, bool) & (ks == 0) & (lead < 0.0)
        under = floor - BELOW * (1.0 - np.tanh(lead / scale)) / 2.0 - b  # into (F − B, F − B/2)
        out = np.where(waits, np.maximum(under, out), out)
    if seated is not None and worth is not None:
        lifted = np.asarray(seated, bool) & (ks == 0) & (lead < 0.0) & (b >= worth)
        seat = floor + BELOW * (1.0 + np.tanh(lead / scale)) - b  # > 0: into (F, F + BELOW)
        out = np.where(lifted, seat, out)
    return np.asarray(out)


@dataclass(frozen=True)
class ScoreTable:
    """Ranked scores of the whole pool (For you's unread river), and what is needed to score an
    article outside it (a read one shown in another view) against the same pool."""

    ids: IntArray  # [N]
    feeds: IntArray  # [N]
    click: FloatArray  # [N]
    fresh: FloatArray  # [N]
    spreading: FloatArray  # [N]
    above: IntArray  # [N]
    sigma: float
    opens: Mapping[int, float]
    now: datetime | None = None
    """The moment the ages were taken at (articles outside the pool are aged at it too)."""
    floor: float | None = None
    """The fair top's lowest click score plus freshness, F (None: an empty pool)."""
    seated: frozenset[int] = frozenset()
    """The feeds whose best unread article has a seat in the top (:func:`seats`)."""
    worth: float | None = None
    """The pool's median click score plus freshness: no seat lifts an article below it."""
    exploring: frozenset[int] = frozenset()
    """The barely shown feeds whose best article waits under the top (:func:`explorers`)."""
    unranked: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Ids of the pool's articles left out because they have no vector yet, newest first
    [M] (a progressive ranking of a large new pool, :mod:`app.services.scorer`; empty once it
    has reached them all)."""

    @property
    def total(self) -> FloatArray:
        """The ranked scores [N]."""
        return np.asarray(self.click + self.fresh + self.spreading)

    @property
    def median(self) -> float | None:
        """The median ranked score of the pool (None when it is empty)."""
        return float(np.median(self.total)) if len(self.ids) else None

    def position(self) -> dict[int, int]:
        """Row of each article id in the table."""
        return {int(a): i for i, a in enumerate(self.ids)}

    def get(self, row: int) -> RankedScore:
        """The parts of the article on ``row``."""
        spreading, above = float(self.spreading[row]), int(self.above[row])
        return RankedScore(
            float(self.click[row]),
            float(self.fresh[row]),
            spreading,
            above,
            float(allowances(self.feeds[row : row + 1], self.opens)[0]),
            exploring=self._waits(int(self.feeds[row]), above, spreading),
        )

    def _waits(self, feed: int, above: int, spreading: float) -> bool:
        """Whether an article's spreading is its barely shown feed's wait under the top."""
        return spreading > 0 and above == 0 and feed in self.exploring and feed not in self.seated

    def outsider(self, click: float, age_hours: float, feed: int) -> RankedScore:
        """The parts of an article not in the pool, as if it were ranked among it."""
        fresh = float(freshness([age_hours], self.sigma)[0])
        base = self.click + self.fresh
        k = int(np.count_nonzero((self.feeds == feed) & (base > click + fresh)))
        allowance = allowances(np.asarray([feed], np.int64), self.opens)
        seated = [feed in self.seated]
        spreading = penalty(
            [k],
            allowance,
            [click + fresh],
            self.floor,
            self.sigma,
            seated,
            self.worth,
            exploring=[feed in self.exploring],
        )
        return RankedScore(
            click,
            fresh,
            float(spreading[0]),
            k,
            float(allowance[0]),
            exploring=self._waits(feed, k, float(spreading[0])),
        )


def score_table(
    ids: IntArray,
    click: npt.ArrayLike,
    *,
    ages_hours: npt.ArrayLike,
    feeds: IntArray,
    opens: Mapping[int, float],
    now: datetime | None = None,
    unranked: IntArray | None = None,
    seated: frozenset[int] = frozenset(),
    known: frozenset[int] | None = None,
) -> ScoreTable:
    """The ranked scores of a pool: ``click`` [N] click scores, ``ages_hours`` [N], ``feeds``
    [N] feed ids, ``opens`` each feed's share of the reader's recent opens; ``unranked`` [M]
    the ids of the pool's articles not ranked yet (none by default); ``seated`` the feeds
    with a seat in the top (:func:`seats`; none by default); ``known`` the feeds the reader
    has been shown enough of, opened or said something about (:func:`explorers`; None: not
    looked up, and no feed's best article waits under the top for being barely shown)."""
    clicks = np.asarray(click, np.float64)
    sigma = float(clicks.std()) if len(clicks) > 1 else 0.0
    sigma = sigma if sigma > 1e-9 else 1.0
    fresh = freshness(ages_hours, sigma)
    base = clicks + fresh
    k = within_feed_rank(base, feeds)
    allowance = allowances(feeds, opens)
    fair = np.sort(base[k + 1 <= allowance])[::-1]  # a top where no feed exceeds its allowance
    floor = float(fair[min(TOP, len(fair)) - 1]) if len(fair) else None
    worth = float(np.median(base)) if len(base) else None
    exploring = frozenset() if known is None else explorers(base, feeds, k, floor, known)
    return ScoreTable(
        ids=np.asarray(ids, np.int64),
        feeds=np.asarray(feeds, np.int64),
        click=clicks,
        fresh=fresh,
        spreading=penalty(
            k,
            allowance,
            base,
            floor,
            sigma,
            seated=np.isin(feeds, list(seated)),
            worth=worth,
            exploring=np.isin(feeds, list(exploring)),
        ),
        above=k,
        sigma=sigma,
        opens=dict(opens),
        now=now,
        floor=floor,
        seated=frozenset(seated),
        worth=worth,
        exploring=exploring,
        unranked=np.zeros(0, np.int64) if unranked is None else np.asarray(unranked, np.int64),
    )


__all__ = [
    "EXPLORE_SEATS",
    "EXPLORE_SHOWN",
    "FRESHNESS_HALF_LIFE_H",
    "FRESHNESS_WEIGHT",
    "SEAT_OPENS",
    "SEAT_SHARE",
    "SEAT_WINDOW",
    "SPREADING",
    "TOP",
    "RankedScore",
    "ScoreTable",
    "explorers",
    "freshness",
    "open_shares",
    "penalty",
    "score_table",
    "seats",
    "within_feed_rank",
]
