"""Which title words a row tints: only those whose share is a real part of the score.

One rule decides for the river's rows (:mod:`app.ui.delegate`) and for ``explain --json``
(``words[].highlight``): a word is tinted when its |share| is at least ``min_percent`` % of
the title's total |share|, and only the ``max_words`` largest such words are. Function words
follow the same rule: "the" is tinted only when it truly carries the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.preference import Preferences

MAX_WORDS = 3
MIN_PERCENT = 15


@dataclass(frozen=True)
class HighlightRule:
    """How many words a row may tint at most, and the smallest share of the title's total
    |share| a tinted word must carry, in percent."""

    max_words: int = MAX_WORDS
    min_percent: int = MIN_PERCENT


DEFAULT = HighlightRule()


def highlight_rule(prefs: Preferences) -> HighlightRule:
    """The rule the reader's settings ask for."""
    return HighlightRule(prefs.highlight_words, prefs.highlight_percent)


def highlight(shares: Sequence[float], rule: HighlightRule = DEFAULT) -> list[bool]:
    """Whether each word, by its signed share of the score, is tinted."""
    total = sum(abs(v) for v in shares)
    if total <= 0.0 or rule.max_words <= 0:
        return [False] * len(shares)
    floor = total * rule.min_percent / 100.0
    passing = [i for i, v in enumerate(shares) if abs(v) >= floor and v != 0.0]
    passing.sort(key=lambda i: (-abs(shares[i]), i))  # the largest first, then title order
    chosen = set(passing[: rule.max_words])
    return [i in chosen for i in range(len(shares))]


FULL = 0.5
"""A word that carries this share of the title's total |share| is tinted at full strength."""


def weights(shares: Sequence[float], rule: HighlightRule = DEFAULT) -> list[float]:
    """Each word's tint in [-1, 1]: 0 for a plain word, else signed by its share (green lifts,
    red pulls down) and as strong as its part of the title's total |share| (full from
    :data:`FULL` on)."""
    flags = highlight(shares, rule)
    total = sum(abs(v) for v in shares)
    return [
        (1.0 if v > 0 else -1.0) * min(1.0, abs(v) / total / FULL) if flag else 0.0
        for v, flag in zip(shares, flags, strict=True)
    ]


def highlight_stats(
    shares_per_row: Sequence[Sequence[float]], rule: HighlightRule = DEFAULT
) -> tuple[float, float]:
    """(mean fraction of a row's words tinted, mean fraction of a row's |share| they cover),
    over the rows with words (coverage over those with a non-zero share)."""
    tinted: list[float] = []
    covered: list[float] = []
    for shares in shares_per_row:
        if not shares:
            continue
        flags = highlight(shares, rule)
        tinted.append(sum(flags) / len(shares))
        total = sum(abs(v) for v in shares)
        if total > 0.0:
            covered.append(sum(abs(v) for v, f in zip(shares, flags, strict=True) if f) / total)
    mean_tinted = sum(tinted) / len(tinted) if tinted else 0.0
    mean_covered = sum(covered) / len(covered) if covered else 0.0
    return mean_tinted, mean_covered


__all__ = [
    "DEFAULT",
    "MAX_WORDS",
    "MIN_PERCENT",
    "HighlightRule",
    "highlight",
    "highlight_rule",
    "highlight_stats",
    "weights",
]
