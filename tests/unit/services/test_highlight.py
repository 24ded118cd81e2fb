"""The highlight rule: few words, and only those that carry a real part of the score."""

from __future__ import annotations

import pytest

from app.services.highlight import (
    HighlightRule,
    TitleShares,
    highlight,
    highlight_stats,
    weights,
)


def test_flat_shares_tint_nothing_but_the_few_that_carry() -> None:
    # "the rocket is on the pad": "rocket" carries, the function words do not
    shares = [0.01, 0.9, 0.01, 0.02, 0.01, 0.3]
    assert highlight(shares) == [False, True, False, False, False, True]


def test_at_most_three_words_and_the_largest_first() -> None:
    shares = [0.2, -0.25, 0.22, 0.21, 0.02]
    flags = highlight(shares)
    assert sum(flags) == 3
    assert flags == [False, True, True, True, False]


def test_a_function_word_that_truly_carries_is_tinted() -> None:
    shares = [1.0, 0.05, 0.05]  # "the" carries most of this one
    assert highlight(shares) == [True, False, False]


def test_even_shares_under_the_floor_tint_nothing() -> None:
    assert highlight([0.1] * 8) == [False] * 8  # each is 12.5 % of the total
    assert highlight([]) == []
    assert highlight([0.0, 0.0]) == [False, False]


def test_the_settings_change_both_limits() -> None:
    shares = [0.3, 0.25, 0.2, 0.15, 0.1]
    assert sum(highlight(shares, HighlightRule(5, 11))) == 4
    assert sum(highlight(shares, HighlightRule(1, 10))) == 1
    assert sum(highlight(shares, HighlightRule(3, 31))) == 0
    assert highlight(shares, HighlightRule(0, 15)) == [False] * 5


def test_weights_are_signed_and_grow_with_the_share() -> None:
    w = weights([0.6, -0.3, 0.05, 0.05])
    assert w[0] == pytest.approx(1.0) and -1.0 < w[1] < 0.0
    assert w[2] == w[3] == 0.0


def test_a_word_must_also_carry_a_real_part_beside_the_feed() -> None:
    # the feed carries the row (+2.09): words of a few hundredths are no reason for it
    shares = [0.01, 0.044, -0.035, 0.045]
    assert sum(highlight(shares)) == 3
    assert highlight(shares, feed=2.09) == [False] * 4
    assert highlight(shares, feed=-2.09) == [False] * 4  # a feed that pulls down weighs as much
    # a keyword beside the same feed still carries: 5 % of (|words| + |feed|) is its floor
    assert highlight([1.3, -0.1, 0.05], feed=2.09) == [True, False, False]
    assert highlight([0.15, -0.02, 0.02], feed=2.9) == [False, False, False]  # 4.9 %
    assert highlight([0.16, -0.02, 0.02], feed=2.9) == [True, False, False]  # 5.2 %
    assert highlight(shares, HighlightRule(3, 15, 0), feed=2.09) == highlight(shares)
    assert weights(shares, feed=2.09) == [0.0] * 4


def test_stats_give_the_fraction_tinted_and_the_share_covered() -> None:
    rows = [
        TitleShares((("rocket", 0.9), ("is", 0.05), ("up", 0.05))),
        TitleShares(tuple((f"w{i}", 0.1) for i in range(8))),
        TitleShares(),
        TitleShares((("a", 0.05), ("in", 0.05)), feed=3.0),
    ]
    stats = highlight_stats(rows)
    assert stats.tinted == pytest.approx((1 / 3 + 0 + 0) / 3)
    assert stats.covered == pytest.approx((0.9 + 0 + 0) / 3)
    assert stats.rows_tinted == pytest.approx(1 / 3)
    assert stats.covered_tinted == pytest.approx(0.9)
    assert highlight_stats([TitleShares()]).covered_tinted is None
