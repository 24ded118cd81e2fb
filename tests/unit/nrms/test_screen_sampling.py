"""Sampling by screen: a click's negatives are the rows passed over beside it on its screen."""

from __future__ import annotations

import pytest

from nrms_core.sampling import Click, Exposure, build_groups, build_samples


def _scroll(session: str, ids: list[int], t0: float = 0.0) -> list[Exposure]:
    """One full scroll of a view: every row logged with its position."""
    return [Exposure(a, t0 + i, session, i) for i, a in enumerate(ids)]


def test_pattern_one_scroll_latest_then_open_feed_by_feed() -> None:
    # The reader scrolls Latest (ids 0..99, the oldest last, mostly from feed B: 80..99),
    # then opens articles in feed A's own view. Under time-nearest sampling every click's
    # negatives were the last rows of the scroll (80..99); by screen they are feed A's rows
    # passed over above each click.
    latest = _scroll("latest", list(range(100)))
    feed_a = _scroll("feed-a", [200, 201, 202, 203, 204, 205, 206, 207], t0=1000.0)
    clicks = [
        Click(203, 1010.0, "feed-a", 3, (200, 201, 202, 203, 204, 205)),
        Click(206, 1020.0, "feed-a", 6, (203, 204, 205, 206, 207)),
    ]
    samples = build_samples(clicks, latest + feed_a, negatives=2, screens=True)
    assert len(samples) == 2
    for sample in samples:
        assert set(sample.candidates[1:]) <= {200, 201, 202, 204, 205, 207}
        assert not set(sample.candidates[1:]) & set(range(100))
    groups = build_groups(clicks, latest + feed_a, screens=True)
    assert groups[0].candidates == (203, 202, 201, 200, 204, 205)
    assert 203 not in groups[1].candidates[1:]  # opened: never a negative
    assert not set(groups[1].candidates) & set(range(100))


def test_above_first_then_visible_below() -> None:
    rows = _scroll("s", [10, 11, 12, 13, 14])
    click = Click(10, 5.0, "s", 0, (10, 11, 12))  # the top row: nothing above
    (sample,) = build_samples([click], rows, negatives=2, screens=True)
    assert sample.candidates == (10, 11, 12)  # the visible rows below, nearest first
    click = Click(14, 5.0, "s", 4, (12, 13, 14))
    (sample,) = build_samples([click], rows, negatives=2, screens=True, seed=1)
    assert set(sample.candidates[1:]) <= {10, 11, 12, 13}


def test_rows_off_screen_below_are_never_negatives() -> None:
    rows = _scroll("s", [1, 2, 3, 4, 5, 6])
    click = Click(1, 9.0, "s", 0, (1, 2))  # 3..6 were logged later, further down
    (sample,) = build_samples([click], rows, negatives=3, screens=True)
    assert set(sample.candidates[1:]) == {2}


def test_legacy_click_without_a_row_is_history_only() -> None:
    rows = _scroll("old", [1, 2, 3])
    clicks = [Click(3, 1.0, "old"), Click(7, 2.0, "s", 1, (6, 7))]
    shown = rows + _scroll("s", [6, 7], t0=2.0)
    samples = build_samples(clicks, shown, negatives=1, screens=True)
    assert samples.history_only == 1
    assert [s.candidates for s in samples] == [(7, 6)]
    assert samples[0].history == (3,)  # the legacy click still shapes the history
    groups = build_groups(clicks, shown, screens=True)
    assert groups.history_only == 1 and len(groups) == 1


def test_article_opened_any_time_and_liked_are_never_negatives() -> None:
    rows = _scroll("s", [1, 2, 3, 4])
    later = Click(2, 50.0, "t", 0, (2,))
    clicks = [Click(4, 5.0, "s", 3, (1, 2, 3, 4)), later]
    samples = build_samples(clicks, rows, negatives=3, screens=True, never_negative={3})
    assert set(samples[0].candidates[1:]) == {1}


def test_unwanted_articles_join_the_nearest_clicks() -> None:
    rows = _scroll("s", [1, 2, 3, 4, 5, 6])
    clicks = [Click(6, 10.0, "s", 5, (4, 5, 6))]
    samples = build_samples(clicks, rows, negatives=2, screens=True, extra_negatives=[(99, 11.0)])
    assert samples[0].candidates[1] == 99
    groups = build_groups(clicks, rows, screens=True, extra_negatives=[(99, 11.0)])
    assert 99 in groups[0].candidates


def test_by_screen_is_deterministic() -> None:
    rows = _scroll("s", list(range(30)))
    clicks = [Click(29, 40.0, "s", 29, tuple(range(20, 30)))]
    a = build_samples(clicks, rows, screens=True, seed=5)
    b = build_samples(clicks, rows, screens=True, seed=5)
    assert a == b
    assert set(a[0].candidates[1:]) <= set(range(17, 29))  # the 12 rows nearest above


@pytest.mark.parametrize("negatives", [1, 4])
def test_click_alone_on_its_screen_is_skipped(negatives: int) -> None:
    samples = build_samples(
        [Click(1, 1.0, "s", 0, (1,))],
        [Exposure(1, 1.0, "s", 0)],
        negatives=negatives,
        screens=True,
    )
    assert samples.skipped == 1 and not samples
