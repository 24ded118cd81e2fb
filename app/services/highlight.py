"""Which title words a row tints: only those whose share is a real part of the score.

One rule decides for the river's rows (:mod:`app.ui.delegate`) and for ``explain --json``
(``words[].highlight``): a word is tinted when its |share| is at least ``min_percent`` % of
the title's total |share| and at least ``min_score_percent`` % of the parts of the score that
differ from article to article (the title's words and the feed, in |share|), and only the
``max_words`` largest such words are. Function words follow the same rule: "the" is tinted
only when it truly carries the score.

Why the second floor: on a row that the feed carries (its bias +2.1 of a score of 2.6, say),
the words share a few hundredths among them, and the first floor alone would still tint two or
three of them ("a" +0.04, "in" +0.05) as strongly as a keyword that carries the score. Such a
tint says "this word is why", and it is not; the row tints nothing, and "Why this?" says that
the feed carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.preference import Preferences

MAX_WORDS = 3
MIN_PERCENT = 15
MIN_SCORE_PERCENT = 5


@dataclass(frozen=True)
class HighlightRule:
    """How many words a row may tint at most, the smallest share of the title's total |share|
    a tinted word must carry, and the smallest share of the title's and the feed's |share|
    together, both in percent (the settings change the first two)."""

    max_words: int = MAX_WORDS
    min_percent: int = MIN_PERCENT
    min_score_percent: int = MIN_SCORE_PERCENT


@dataclass(frozen=True)
class TitleShares:
    """One row's signed shares of its click score: each title word's (``words``, (token,
    share) in title order, without the feed's token) and the feed's (``feed``: its bias and
    the share of the feed token the model reads first). What no word carries (a constant for
    every article) is in neither: it moves no row against another."""

    words: tuple[tuple[str, float], ...] = ()
    feed: float = 0.0

    @property
    def values(self) -> list[float]:
        """The words' shares, in title order."""
        return [v for _, v in self.words]


@dataclass(frozen=True)
class HighlightStats:
    """How a set of rows is highlighted: the mean fraction of a row's words tinted
    (``tinted``), the mean fraction of a row's word |share| the tinted words cover
    (``covered``, over rows with a non-zero share), the fraction of rows that tint any word
    (``rows_tinted``) and the coverage over those rows alone (``covered_tinted``; None when
    no row tints)."""

    tinted: float
    covered: float
    rows_tinted: float
    covered_tinted: float | None


DEFAULT = HighlightRule()


def highlight_rule(prefs: Preferences) -> HighlightRule:
    """The rule the reader's settings ask for."""
    return HighlightRule(prefs.highlight_words, prefs.highlight_percent)


def highlight(
    shares: Sequence[float], rule: HighlightRule = DEFAULT, feed: float = 0.0
) -> list[bool]:
    """Whether each word, by its signed share of the score, is tinted; ``feed`` is the feed's
    signed share of the same score (see :class:`TitleShares`)."""
    total = sum(abs(v) for v in shares)
    if total <= 0.0 or rule.max_words <= 0:
        return [False] * len(shares)
    floor = max(total * rule.min_percent / 100.0, score_floor(shares, feed, rule))
    passing = [i for i, v in enumerate(shares) if abs(v) >= floor and v != 0.0]
    passing.sort(key=lambda i: (-abs(shares[i]), i))  # the largest first, then title order
    chosen = set(passing[: rule.max_words])
    return [i in chosen for i in range(len(shares))]


def score_floor(shares: Sequence[float], feed: float, rule: HighlightRule = DEFAULT) -> float:
    """The |share| a word needs beside the feed: ``min_score_percent`` % of the title's
    words' and the feed's |share| together."""
    return (sum(abs(v) for v in shares) + abs(feed)) * rule.min_score_percent / 100.0


FULL = 0.5
"""A word that carries this share of the title's total |share| is tinted at full strength."""


def weights(
    shares: Sequence[float], rule: HighlightRule = DEFAULT, feed: float = 0.0
) -> list[float]:
    """Each word's tint in [-1, 1]: 0 for a plain word, else signed by its share (green lifts,
    red pulls down) and as strong as its part of the title's total |share| (full from
    :data:`FULL` on); ``feed`` as :func:`highlight` takes it."""
    flags = highlight(shares, rule, feed)
    total = sum(abs(v) for v in shares)
    return [
        (1.0 if v > 0 else -1.0) * min(1.0, abs(v) / total / FULL) if flag else 0.0
        for v, flag in zip(shares, flags, strict=True)
    ]


def highlight_stats(rows: Sequence[TitleShares], rule: HighlightRule = DEFAULT) -> HighlightStats:
    """How ``rows`` are highlighted under ``rule`` (see :class:`HighlightStats`), over the
    rows with words."""
    tinted: list[float] = []
    covered: list[float] = []
    any_tint: list[bool] = []
    covered_tinted: list[float] = []
    for row in rows:
        shares = row.values
        if not shares:
            continue
        flags = highlight(shares, rule, row.feed)
        tinted.append(sum(flags) / len(shares))
        any_tint.append(any(flags))
        total = sum(abs(v) for v in shares)
        if total > 0.0:
            part = sum(abs(v) for v, f in zip(shares, flags, strict=True) if f) / total
            covered.append(part)
            if any(flags):
                covered_tinted.append(part)
    return HighlightStats(
        _mean(tinted),
        _mean(covered),
        _mean([1.0 if t else 0.0 for t in any_tint]),
        _mean(covered_tinted) if covered_tinted else None,
    )


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


__all__ = [
    "DEFAULT",
    "MAX_WORDS",
    "MIN_PERCENT",
    "MIN_SCORE_PERCENT",
    "HighlightRule",
    "HighlightStats",
    "TitleShares",
    "highlight",
    "highlight_rule",
    "highlight_stats",
    "score_floor",
    "weights",
]
