"""The ranked score: the model's click score plus freshness plus feed spreading, which keeps a
high-volume feed from filling the top unless the reader's own opens are that concentrated."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.score import (
    BELOW,
    EXPLORE_SEATS,
    SEAT_OPENS,
    TOP,
    ScoreTable,
    open_shares,
    score_table,
    seats,
)


def table(
    click: list[float],
    feeds: list[int],
    ages: list[float] | None = None,
    opens: dict[int, float] | None = None,
) -> ScoreTable:
    n = len(click)
    return score_table(
        np.arange(n, dtype=np.int64),
        np.asarray(click, np.float64),
        ages_hours=np.zeros(n) if ages is None else np.asarray(ages),
        feeds=np.asarray(feeds, np.int64),
        opens=opens or {},
    )


def top_feed_count(click: np.ndarray, feeds: np.ndarray, opens: dict[int, float]) -> int:
    t = score_table(
        np.arange(len(click), dtype=np.int64),
        click,
        ages_hours=np.zeros(len(click)),
        feeds=feeds,
        opens=opens,
    )
    top = np.argsort(-t.total, kind="stable")[:TOP]
    return int((feeds[top] == 0).sum())


def crowded_pool(shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Feed 0 has 150 articles ``shift`` spreads above 415 articles of 19 other feeds."""
    rng = np.random.default_rng(seed)
    click = np.r_[rng.normal(shift, 1.0, 150), rng.normal(0.0, 1.0, 415)]
    feeds = np.r_[np.zeros(150, np.int64), rng.integers(1, 20, 415)]
    return click, feeds


def test_the_parts_add_up_and_order_by_click_score_when_all_else_is_equal() -> None:
    t = table([0.1, 2.0, -1.0, 0.5], [1, 2, 3, 4])
    assert list(np.argsort(-t.total)) == [1, 3, 0, 2]
    assert np.allclose(t.total, t.click + t.fresh + t.spreading)
    part = t.get(1)
    assert part.total == pytest.approx(float(t.total[1]))
    assert part.spreading == 0.0 and part.above == 0


def test_a_fresher_article_wins_a_tie() -> None:
    t = table([1.0, 1.0], [1, 2], ages=[0.0, 72.0])
    assert t.total[0] > t.total[1]
    assert t.fresh[0] > t.fresh[1] > 0


@pytest.mark.parametrize("shift", [0.5, 1.0, 2.0, 3.0, 5.0])
def test_a_high_volume_feed_fills_at_most_a_third_of_the_top(shift: float) -> None:
    click, feeds = crowded_pool(shift)
    without = int((feeds[np.argsort(-click)[:TOP]] == 0).sum())
    assert without > TOP // 3  # the case the spreading is for
    assert top_feed_count(click, feeds, opens={}) <= TOP // 3
    # ... also when the reader opens a little of it
    assert top_feed_count(click, feeds, opens={0: 0.2, 3: 0.8}) <= TOP // 3


def test_a_reader_whose_opens_are_concentrated_gets_that_feed_in_the_top() -> None:
    click, feeds = crowded_pool(2.0)
    fair = top_feed_count(click, feeds, opens={})
    concentrated = top_feed_count(click, feeds, opens={0: 0.6, 1: 0.4})
    assert concentrated > TOP // 3 >= fair
    assert concentrated <= round(0.6 * TOP)


def test_spreading_keeps_the_order_within_a_feed_and_the_score_is_the_order() -> None:
    t = table([3.0, 2.0, 1.0, 2.5], [7, 7, 7, 8])
    mine = t.total[:3]
    assert list(np.argsort(-mine)) == [0, 1, 2]
    assert list(t.above[:3]) == [0, 1, 2]
    assert t.spreading[0] == 0.0 > t.spreading[1]
    assert t.spreading[2] == 0.0  # at the floor of the top: no lead to give up


def test_an_article_outside_the_pool_is_scored_as_if_ranked_among_it() -> None:
    t = table([3.0, 2.0, 1.0], [7, 7, 7])
    inside = t.get(1)
    outside = t.outsider(2.0, 0.0, 7)
    assert outside.above == 1  # only the 3.0 ranks above it; the 2.0 is a tie
    assert outside.total == pytest.approx(inside.total)


def test_constant_scores_and_an_empty_pool_are_defined() -> None:
    t = table([1.0] * 5, list(range(5)))
    assert np.all(np.isfinite(t.total))
    empty = table([], [])
    assert empty.median is None
    assert np.isfinite(empty.outsider(0.5, 1.0, 3).total)


def test_open_shares() -> None:
    assert open_shares([]) == {}
    assert open_shares([1, 1, 2, 1]) == {1: 0.75, 2: 0.25}


def test_the_spreading_is_bounded_and_leaves_the_order_below_the_top_alone() -> None:
    click, feeds = crowded_pool(2.0)
    t = score_table(
        np.arange(len(click), dtype=np.int64),
        click,
        ages_hours=np.zeros(len(click)),
        feeds=feeds,
        opens={},
    )
    assert t.floor is not None
    base = t.click + t.fresh
    lead = np.maximum(base - t.floor, 0.0)
    assert (t.spreading >= -lead - 2 * BELOW - 1e-9).all()
    below = base < t.floor - 2 * BELOW
    assert below.sum() > len(base) / 2
    assert (t.spreading[below] == 0.0).all()


@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_past_the_top_a_crowded_feed_sinks_no_further_than_the_top_s_floor(shift: float) -> None:
    """An article a feed puts past its allowance drops just below the fair top, not beneath
    the articles of lower worth: below the top the order is the click score's."""
    click, feeds = crowded_pool(shift)
    t = score_table(
        np.arange(len(click), dtype=np.int64),
        click,
        ages_hours=np.zeros(len(click)),
        feeds=feeds,
        opens={},
    )
    assert t.floor is not None
    order = np.argsort(-t.total, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    base = t.click + t.fresh
    past = np.flatnonzero((feeds == 0) & (t.above >= TOP // 3))
    others = np.flatnonzero(feeds != 0)
    for a in past:
        # every article of another feed that scores below the top's floor (less where a
        # crowded article can land) still ranks below this one
        lower = others[base[others] < min(base[a], t.floor) - 2 * BELOW - 1e-9]
        assert (rank[lower] > rank[a]).all()
    # and the crowded feed's later articles are not all at the bottom
    assert np.median(rank[past]) < np.median(rank[others]) + len(others) / 4
    # the top itself: no feed past its allowance, every member above every other article
    top = order[:TOP]
    assert (feeds[top] == 0).sum() <= TOP // 3
    assert t.total[top].min() > t.total[order[TOP:]].max()


def test_a_feed_needs_several_opens_and_a_tenth_of_them_for_a_seat() -> None:
    assert seats([]) == frozenset()
    assert seats([4, 4, 5]) == frozenset()  # two opens are a misclick or two
    assert seats([4] * SEAT_OPENS + [5] * 2) == {4}
    many = [4] * SEAT_OPENS + [5] * 40  # 3 of 43 is under a tenth
    assert seats(many) == {5}


def seated_pool(seated: frozenset[int]) -> ScoreTable:
    """Five feeds (0-4) of 40 articles each well above feed 5, a mixed feed whose best
    article is still above most of the pool; 200 articles of other feeds (6-25) below."""
    rng = np.random.default_rng(1)
    click = np.r_[rng.normal(3.0, 0.3, 200), [1.5, 0.5, 0.2], rng.normal(-1.0, 1.0, 200)]
    feeds = np.r_[np.repeat(np.arange(5), 40), [5, 5, 5], rng.integers(6, 26, 200)]
    return score_table(
        np.arange(len(click), dtype=np.int64),
        click,
        ages_hours=np.zeros(len(click)),
        feeds=feeds.astype(np.int64),
        opens={f: 1 / 6 for f in range(6)},
        seated=seated,
    )


def test_a_feed_the_reader_keeps_opening_keeps_its_best_article_in_the_top() -> None:
    plain = seated_pool(frozenset())
    rank = np.argsort(np.argsort(-plain.total, kind="stable"), kind="stable")
    assert rank[200] > 2 * TOP  # buried under five feeds' tops
    t = seated_pool(frozenset({5}))
    order = np.argsort(-t.total, kind="stable")
    rank = np.argsort(order, kind="stable")
    assert rank[200] < TOP  # lifted just above the floor
    assert t.spreading[200] > 0 and t.floor is not None
    assert t.floor < t.total[200] <= t.floor + BELOW
    # only its best: the feed's next articles, and everything else, are where they were
    assert (t.spreading[201:] == plain.spreading[201:]).all()
    assert (t.spreading[:200] == plain.spreading[:200]).all()
    assert t.total[200] > t.total[201] > t.total[202]  # the order within the feed is kept
    # the same figure for the same article asked for from outside the pool
    outside = t.outsider(float(t.click[200]), 0.0, 5)
    assert outside.total == pytest.approx(float(t.total[200]))


def test_a_seat_never_lifts_an_article_below_the_pool_s_median() -> None:
    rng = np.random.default_rng(2)
    click = np.r_[rng.normal(3.0, 0.3, 200), [-2.0], rng.normal(0.0, 1.0, 200)]
    feeds = np.r_[np.repeat(np.arange(5), 40), [5], rng.integers(6, 26, 200)].astype(np.int64)
    kwargs = {"ages_hours": np.zeros(len(click)), "feeds": feeds, "opens": {}}
    t = score_table(np.arange(len(click), dtype=np.int64), click, seated=frozenset({5}), **kwargs)
    assert t.spreading[200] == 0.0


def known_pool(known: frozenset[int] | None, seated: frozenset[int] = frozenset()) -> ScoreTable:
    """Feeds 0-4 (the reader's, 40 articles each) well above feeds 5-24 (8 each, none
    opened), where feed 5's best article is the best of them and feed 24's the worst."""
    rng = np.random.default_rng(3)
    click = [rng.normal(3.0, 0.3, 200)]
    for f in range(5, 25):
        click.append(-0.05 * f - 0.3 * np.arange(8))  # its best first
    feeds = np.r_[np.repeat(np.arange(5), 40), np.repeat(np.arange(5, 25), 8)]
    return score_table(
        np.arange(360, dtype=np.int64),
        np.concatenate(click),
        ages_hours=np.zeros(360),
        feeds=feeds.astype(np.int64),
        opens={f: 0.2 for f in range(5)},
        seated=seated,
        known=known,
    )


def ranks(t: ScoreTable) -> np.ndarray:
    return np.argsort(np.argsort(-t.total, kind="stable"), kind="stable")


def test_the_best_of_a_barely_shown_feed_waits_just_under_the_top() -> None:
    plain = known_pool(None)
    assert plain.exploring == frozenset()
    assert ranks(plain)[200] > 5 * TOP  # feed 5's best, buried under the reader's feeds
    t = known_pool(frozenset(range(5)))
    assert t.exploring == frozenset(range(5, 5 + EXPLORE_SEATS))  # the best ten of them
    rank = ranks(t)
    assert t.floor is not None
    waiting = [200 + 8 * (f - 5) for f in range(5, 5 + EXPLORE_SEATS)]  # each feed's best
    assert rank[waiting].min() >= TOP and rank[waiting].max() < 2 * TOP  # right under the top
    assert all(t.floor - BELOW < t.total[r] < t.floor - BELOW / 2 for r in waiting)
    assert list(rank[waiting]) == sorted(rank[waiting])  # the better ones higher
    # only the best of each: the feeds' next articles, and the feeds past the ten, stay
    others = np.setdiff1d(np.arange(360), waiting)
    assert (t.spreading[others] == plain.spreading[others]).all()
    part = t.get(200)
    assert part.exploring and part.spreading > 0
    assert not t.get(201).exploring and not t.get(0).exploring
    outside = t.outsider(float(t.click[200]) + 0.01, 0.0, 5)  # better than feed 5's best
    assert outside.exploring and t.floor - BELOW < outside.total < t.floor


def test_a_known_feed_waits_nowhere_and_a_seat_comes_first() -> None:
    every = known_pool(frozenset(range(25)))
    assert every.exploring == frozenset() and (every.spreading[200:] <= 0).all()
    seated = known_pool(frozenset(range(5)) | {5}, seated=frozenset({5}))
    assert 5 not in seated.exploring and not seated.get(200).exploring
    assert seated.exploring == frozenset(range(6, 6 + EXPLORE_SEATS))
