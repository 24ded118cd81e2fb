"""Screens, clicks with their screen row and visible rows, and explicit feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.storage.articles import upsert_articles
from app.storage.database import Database, NotFoundError
from app.storage.events import (
    click_history,
    feedback,
    known_feeds,
    opened_feeds,
    record_click,
    record_feedback,
    record_impressions,
    record_screen,
    said_feeds,
    screens,
    undo_feedback,
)
from app.storage.feeds import add_feed
from app.storage.schema import Click
from tests.unit.storage.sample import NOW, item


@pytest.fixture
def ids(db: Database) -> tuple[int, int, tuple[int, ...]]:
    with db.write() as s:
        feed = add_feed(s, "https://example.org/feed.xml").id
        return feed, 0, upsert_articles(s, feed, [item(f"k{n}") for n in range(4)], NOW).new_ids


def test_screen_round_trip_and_first_write_wins(db: Database) -> None:
    with db.write() as s:
        record_screen(
            s,
            "k1",
            view="feed",
            filter={"feed_id": 3},
            ordering="latest",
            multi_feed=False,
            now=NOW,
        )
        record_screen(
            s, "k1", view="latest", filter={}, ordering="latest", multi_feed=True, now=NOW
        )
    with db.read() as s:
        (screen,) = screens(s).values()
    assert (screen.key, screen.view, screen.multi_feed) == ("k1", "feed", False)
    assert screen.filter == '{"feed_id": 3}'


def test_click_keeps_its_row_and_what_was_on_screen(
    db: Database, ids: tuple[int, int, tuple[int, ...]]
) -> None:
    _, _, (a, b, c, _d) = ids
    with db.write() as s:
        record_click(s, b, "k", NOW, 5.0, position=1, visible=[a, b, c, c])
        record_click(s, c, "k", NOW + timedelta(seconds=1), position=-4)
    with db.read() as s:
        first, second = click_history(s)
    assert (first.position, first.visible) == (1, (a, b, c))
    assert (second.position, second.visible) == (None, ())


def test_unreadable_visible_rows_are_unknown(
    db: Database, ids: tuple[int, int, tuple[int, ...]]
) -> None:
    _, _, (a, *_) = ids
    with db.write() as s:
        record_click(s, a, "k", NOW)
        row = s.query(Click).one()
        row.visible = '{"not": "a list"}'
    with db.read() as s:
        assert click_history(s)[0].visible == ()


def test_feedback_is_recorded_listed_and_undone(
    db: Database, ids: tuple[int, int, tuple[int, ...]]
) -> None:
    feed, _, (a, *_) = ids
    with db.write() as s:
        more = record_feedback(s, "more", NOW, article_id=a)
        record_feedback(s, "feed_less", NOW + timedelta(seconds=1), feed_id=feed)
        record_feedback(s, "word_off", NOW + timedelta(seconds=2), word="  Election ")
    with db.read() as s:
        given = feedback(s)
    assert [(f.kind, f.article_id, f.feed_id, f.word) for f in given] == [
        ("more", a, feed, None),
        ("feed_less", None, feed, None),
        ("word_off", None, None, "election"),
    ]
    with db.write() as s:
        assert undo_feedback(s, more, NOW)
        assert not undo_feedback(s, more, NOW)
        assert not undo_feedback(s, 9999, NOW)
    with db.read() as s:
        assert [f.kind for f in feedback(s)] == ["feed_less", "word_off"]
        assert len(feedback(s, include_undone=True)) == 3


def test_feedback_refuses_nonsense(db: Database, ids: tuple[int, int, tuple[int, ...]]) -> None:
    with db.write() as s:
        with pytest.raises(ValueError):
            record_feedback(s, "love", NOW, article_id=ids[2][0])
        with pytest.raises(ValueError):
            record_feedback(s, "more", NOW)
        with pytest.raises(NotFoundError):
            record_feedback(s, "less", NOW, article_id=10**9)
        with pytest.raises(NotFoundError):
            record_feedback(s, "feed_less", NOW, feed_id=10**9)
        with pytest.raises(ValueError):
            record_feedback(s, "word_off", NOW, word="   ")


def test_a_feed_is_known_once_shown_enough_beside_others_or_said_about(db: Database) -> None:
    with db.write() as s:
        feeds = [add_feed(s, f"https://example.org/{n}.xml").id for n in range(6)]
        arts = {
            f: upsert_articles(s, f, [item(f"f{f}-{n}") for n in range(3)], NOW).new_ids
            for f in feeds
        }
        shown, early, opened, said, quiet, alone = feeds
        for key, multi in (("v1", True), ("v2", True), ("own", False)):
            view = "latest" if multi else "feed"
            record_screen(
                s, key, view=view, filter={}, ordering="latest", multi_feed=multi, now=NOW
            )
        # three headlines of ``shown`` on two visits: four impressions
        record_impressions(s, [(a, i) for i, a in enumerate(arts[shown])], "v1", NOW)
        record_impressions(s, [(arts[shown][0], 0)], "v2", NOW)
        old = NOW - timedelta(days=40)
        # logged before screens were: no screen row, counted as competing
        record_impressions(s, [(a, i) for i, a in enumerate(arts[early])], "v0", old)
        record_impressions(s, [(arts[early][0], 0)], "v3", old)
        record_click(s, arts[opened][1], "v1", NOW)
        record_impressions(s, [(arts[quiet][0], 0)], "v1", NOW)
        undone = record_feedback(s, "feed_less", NOW, feed_id=quiet)
        undo_feedback(s, undone, NOW)
        record_feedback(s, "more", NOW, article_id=arts[said][0])
        record_feedback(s, "word_off", NOW, word="election")
        # read in its own view only: every headline shown, one opened, never beside others
        record_impressions(s, [(a, i) for i, a in enumerate(arts[alone])], "own", NOW)
        record_impressions(s, [(arts[alone][0], 0)], "v1", NOW)
        record_click(s, arts[alone][1], "own", NOW)
    with db.read() as s:
        assert known_feeds(s, shown=4) == {shown, early, said}
        since = NOW - timedelta(days=30)
        assert known_feeds(s, shown=4, since=since) == {shown, said}
        assert known_feeds(s, shown=5, since=since) == {said}
        assert known_feeds(s, shown=1, since=since) == {shown, said, quiet, alone}
        assert known_feeds(s, shown=2, since=since) == {shown, said}
        assert said_feeds(s) == {said}


def test_opened_feeds_counts_each_article_once_newest_first_less_the_less(db: Database) -> None:
    with db.write() as s:
        a, b, c = (add_feed(s, f"https://example.org/o{n}.xml").id for n in range(3))
        arts = {
            f: upsert_articles(s, f, [item(f"o{f}-{n}") for n in range(3)], NOW).new_ids
            for f in (a, b, c)
        }
        opens = [arts[a][0], arts[b][0], arts[a][0], arts[c][0], arts[a][1], arts[c][1]]
        for n, article in enumerate(opens):
            record_click(s, article, "v", NOW + timedelta(minutes=n))
        record_feedback(s, "less", NOW, article_id=arts[c][1])
        undone = record_feedback(s, "less", NOW, article_id=arts[b][0])
        undo_feedback(s, undone, NOW)
    with db.read() as s:
        # newest first by each article's latest open; a[0] opened twice counts once
        assert opened_feeds(s, 10) == [a, c, a, b]
        assert opened_feeds(s, 2) == [a, c]
        assert opened_feeds(s, 0) == []


def test_opened_feeds_reads_further_back_past_reopened_and_unwanted(db: Database) -> None:
    with db.write() as s:
        a, b = (add_feed(s, f"https://example.org/w{n}.xml").id for n in range(2))
        first = upsert_articles(s, a, [item("w-a")], NOW).new_ids[0]
        unwanted = upsert_articles(s, b, [item("w-b")], NOW).new_ids[0]
        record_click(s, first, "v", NOW)
        for n in range(1, 10):  # the latest nine opens: one article, said "less like this" of
            record_click(s, unwanted, "v", NOW + timedelta(minutes=n))
        record_feedback(s, "less", NOW, article_id=unwanted)
    with db.read() as s:
        assert opened_feeds(s, 1) == [a]
        assert opened_feeds(s, 2) == [a]
