"""The round's signal: which opens and judgements teach what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.services.signal import (
    FEED_CEILING,
    FEED_FLOOR,
    build,
    exposures,
    holdout_start,
    pins_of,
)
from app.storage.record import ClickRecord, FeedbackRecord, ImpressionRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _click(i: int, article: int, position: int | None = 0) -> ClickRecord:
    return ClickRecord(i, article, T0 + timedelta(minutes=i), "s", 10.0, position, (article,))


def _said(
    i: int,
    kind: str,
    *,
    article: int | None = None,
    feed: int | None = None,
    word: str | None = None,
) -> FeedbackRecord:
    return FeedbackRecord(i, kind, article, feed, word, T0 + timedelta(minutes=i), None)


def test_less_like_this_takes_back_the_open_and_becomes_a_negative() -> None:
    clicks = [_click(1, 10), _click(2, 11)]
    told = build(clicks, [], [_said(3, "less", article=11)], {10, 11})
    assert [c.article_id for c in told.clicks] == [10]
    assert [a for a, _ in told.extra_negatives] == [11]
    assert told.distinct_opened == 1


def test_more_like_this_is_a_positive_where_it_was_shown() -> None:
    shown = [
        ImpressionRecord(20, T0, "old", 4),
        ImpressionRecord(20, T0 + timedelta(minutes=1), "latest", 7),
    ]
    told = build([], shown, [_said(5, "more", article=20)], {20})
    (click,) = told.clicks
    assert (click.article_id, click.session, click.position) == (20, "latest", 7)
    assert 20 in told.never_negative


def test_more_like_this_never_shown_is_history_only() -> None:
    told = build([], [], [_said(5, "more", article=20)], {20})
    assert told.clicks[0].position is None


def test_untitled_articles_are_dropped() -> None:
    told = build([_click(1, 10), _click(2, 99)], [ImpressionRecord(99, T0, "s", 0)], [], {10})
    assert [c.article_id for c in told.clicks] == [10]
    assert told.impressions == ()


def test_distinct_articles_count_not_clicks() -> None:
    told = build([_click(i, 10) for i in range(25)], [], [], {10})
    assert told.distinct_opened == 1


def test_pins_latest_word_on_a_feed_wins() -> None:
    pins = pins_of(
        [
            _said(1, "feed_less", feed=3),
            _said(2, "feed_more", feed=4),
            _said(3, "feed_more", feed=3),
            _said(4, "word_off", word="trump"),
        ]
    )
    assert pins.feeds == {3: (FEED_FLOOR, None), 4: (FEED_FLOOR, None)}
    assert pins_of([_said(1, "feed_less", feed=3)]).feeds == {3: (None, FEED_CEILING)}
    assert pins.words_off == frozenset({"trump"})


def test_exposures_are_every_shown_article_and_the_opens_before_the_held_out_ones() -> None:
    shown = [ImpressionRecord(a, T0, "latest", a) for a in range(10)]
    clicks = [_click(i, a, a) for i, a in enumerate((2, 5, 7))]
    clicks.append(_click(9, 40, 0))  # opened from a screen whose impression was never logged
    told = build(clicks, shown, [], set(range(50)))
    seen, opened = exposures(told)
    assert seen == [*range(10), 40] and opened == {2, 5, 7, 40}
    cut = holdout_start(told, 0.25)
    assert cut is not None
    early_seen, early_opened = exposures(told, before=cut)
    assert early_opened == {2, 5, 7} and 40 not in early_seen


def test_the_priors_cut_leaves_out_the_whole_screen_of_the_first_held_out_click() -> None:
    """Rows are logged as a screen shows them, before the reader opens any: cut at the held-out
    click, the last screen's rows would count as passed over while its opens were held out,
    and the feed read last would look unwanted. Cut at the screen's first row instead."""

    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    rows = [ImpressionRecord(a, at(0), "feed-a", a) for a in range(5)]
    rows += [ImpressionRecord(a, at(10), "feed-b", a - 10) for a in range(10, 15)]
    opens = [(1, 0, "feed-a"), (2, 1, "feed-a"), (3, 2, "feed-a")]
    opens += [(11, 10, "feed-b"), (12, 11, "feed-b"), (13, 12, "feed-b")]
    clicks = [ClickRecord(m, a, at(m), s, 10.0, a % 10, (a,)) for m, a, s in opens]
    told = build(clicks, rows, [], set(range(20)))
    cut = holdout_start(told, 0.25)
    assert cut == at(12).timestamp()  # feed-b's second and third opens are held out
    seen, opened = exposures(told, before=cut)
    assert seen == list(range(5)) and opened == {0, 1, 2}
    everything, all_opened = exposures(told)
    assert everything == [*range(5), *range(10, 15)] and all_opened == {0, 1, 2, 10, 11, 12}
