"""One story once: detection precision on labelled pairs, folding, reading together, undoing."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from app.services import story
from app.storage import articles
from app.storage.database import Database
from app.storage.feeds import add_feed
from app.storage.record import IncomingArticle
from app.storage.story import StoryRow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WIRE = (
    "Rescue teams reached the village cut off by the landslide after crews cleared the "
    "mountain road overnight, regional officials said on Monday."
)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "profile" / "heedful.sqlite")
    yield database  # type: ignore[misc]
    database.close()


def _row(i: int, feed: int, title: str, summary: str = "", hours: float = 0) -> StoryRow:
    return StoryRow(i, feed, title, summary, NOW + timedelta(hours=hours), None, False)


def test_same_wire_story_in_two_feeds_is_one_story() -> None:
    rows = [
        _row(1, 1, "Landslide village reached by rescuers", WIRE),
        _row(2, 2, "Rescuers reach landslide village", WIRE + " More follows.", hours=3),
        _row(3, 3, "Landslide: village reached", WIRE, hours=60),  # outside the window
        _row(4, 1, "Landslide village reached by rescuers", WIRE, hours=1),  # same feed as 1
        _row(5, 3, "Budget vote delayed", "The assembly postponed the vote on the budget."),
    ]
    # never compared with its own feed's 1, the repeat joins the story through 2
    assert dict(story.detect(rows).copies) == {2: 1, 4: 1}


def test_a_separated_article_is_never_folded_again() -> None:
    rows = [_row(1, 1, "Landslide village", WIRE), _row(2, 2, "Landslide village", WIRE)]
    separated = [rows[0], StoryRow(2, 2, "Landslide village", WIRE, NOW, 2, False)]
    assert story.detect(rows).copies == ((2, 1),)
    assert story.detect(separated).copies == ()


def test_a_story_in_many_feeds_takes_a_comparison_a_copy_and_none_once_folded() -> None:
    # a wire story in 30 feeds, each with a word of its own in the title: every band puts
    # all 30 in one bucket, but 29 comparisons join them (not 435 a band), and a pass over
    # the folded rows compares none
    rows = [
        _row(i, i, f"Landslide village reached by rescuers {word}", WIRE, hours=i / 10)
        for i, word in enumerate((f"w{n}" for n in range(30)), start=1)
    ]
    rows.append(
        _row(31, 31, "Budget vote delayed", "The assembly postponed the vote on the budget.")
    )
    fold = story.detect(rows)
    assert dict(fold.copies) == {i: 1 for i in range(2, 31)}
    assert fold.compared == 29
    folded = [
        StoryRow(r.id, r.feed_id, r.title, r.summary, r.time, dict(fold.copies).get(r.id), False)
        for r in rows
    ]
    again = story.detect(folded)
    assert again.copies == fold.copies and again.compared == 0


def test_copies_of_one_text_are_joined_without_comparing_them_and_two_texts_once() -> None:
    # two stories, each word for word in 20 feeds, alike enough to share a bucket in 4 of
    # the 30 bands (Jaccard 0.29, under the threshold): the copies of one text need no
    # comparison, and the two texts are compared once, not 20 x 20 times in each such band
    other = (
        "Rescue teams reached the village cut off by the landslide on Sunday, and crews began "
        "clearing the mountain road, regional officials said."
    )
    rows = [_row(i, i, "Landslide village reached by rescuers", WIRE) for i in range(1, 21)]
    rows += [_row(20 + i, i, "Landslide road cleared overnight", other) for i in range(1, 21)]
    fold = story.detect(rows)
    assert dict(fold.copies) == {i: 1 for i in range(2, 21)} | {i: 21 for i in range(22, 41)}
    assert fold.compared == 1
    # a feed that posts one text twice still never folds it with itself
    twice = [_row(1, 1, "Landslide village", WIRE), _row(2, 1, "Landslide village", WIRE)]
    assert story.detect(twice).copies == ()


def _add(db: Database, url: str, title: str, items: list[tuple[str, str, str]]) -> list[int]:
    with db.write() as s:
        feed = add_feed(s, url, title=title)
        incoming = [
            IncomingArticle(key, f"{url}/{key}", headline, f"<p>{text}</p>", text, None, NOW)
            for key, headline, text in items
        ]
        return list(articles.upsert_articles(s, feed.id, incoming, NOW).new_ids)


def _wire_story(db: Database) -> tuple[int, int, int]:
    """One wire story in BBC and in Reuters, and another Reuters article: their ids."""
    [bbc] = _add(db, "https://bbc.example/rss", "BBC", [("a", "Landslide village reached", WIRE)])
    [reuters, other] = _add(
        db,
        "https://reuters.example/rss",
        "Reuters",
        [("b", "Rescuers reach landslide village", WIRE), ("c", "Markets", "Shares rose.")],
    )
    return bbc, reuters, other


def test_fold_lists_once_reads_together_and_unfolds(db: Database) -> None:
    bbc, reuters, other = _wire_story(db)
    assert story.fold_recent(db, now=NOW) == 1
    assert story.fold_recent(db, now=NOW) == 0  # already folded
    assert story.also_in(db, [bbc, reuters, other]) == {bbc: ["Reuters"]}
    with db.read() as s:
        river = [a.id for a in articles.list_articles(s, unread_only=True)]
        ranked = [c.id for c in articles.list_candidates(s, unread_only=True)]
        in_feed = [a.id for a in articles.list_articles(s, feed_id=2)]
        assert reuters not in river and reuters not in ranked and bbc in river
        assert set(in_feed) == {reuters, other}  # the feed's own view still has its copy
    with db.write() as s:
        assert articles.set_read(s, [bbc], True, now=NOW) == 2
        assert articles.get_article(s, reuters).read  # type: ignore[union-attr]
        articles.set_read(s, [bbc, reuters], False)
        articles.mark_all_read(s, feed_id=2, upto=NOW + timedelta(minutes=1))
        assert articles.get_article(s, bbc).read  # type: ignore[union-attr]
    assert sorted(story.separate(db, reuters)) == [bbc, reuters]
    assert story.also_in(db, [bbc]) == {}
    assert story.fold_recent(db, now=NOW) == 0  # never refolded
    with db.read() as s:
        assert {a.id for a in articles.list_articles(s)} == {bbc, reuters, other}


def test_unfold_says_what_it_changed_and_refold_puts_it_back(db: Database) -> None:
    [bbc] = _add(db, "https://bbc.example/rss", "BBC", [("a", "Landslide village reached", WIRE)])
    [reuters] = _add(
        db, "https://reuters.example/rss", "Reuters", [("b", "Rescuers reach the village", WIRE)]
    )
    assert story.fold_recent(db, now=NOW) == 1
    unfolded = story.unfold(db, reuters)  # from the copy as from the canonical article
    assert unfolded.article_ids == (bbc, reuters)
    assert dict(unfolded.before) == {bbc: None, reuters: bbc}
    assert story.also_in(db, [bbc]) == {}
    assert story.fold_recent(db, now=NOW) == 0  # unfolded for good
    with pytest.raises(story.StoryError, match="not folded"):
        story.unfold(db, bbc)
    with pytest.raises(story.StoryError, match="no article"):
        story.unfold(db, 999)
    assert story.refold(db, unfolded) == 2
    assert story.also_in(db, [bbc]) == {bbc: ["Reuters"]}
    with db.read() as s:  # nothing deleted; the river shows the story once again
        assert all(articles.get_article(s, i) is not None for i in (bbc, reuters))
        assert [a.id for a in articles.list_articles(s)] == [bbc]


def _dies(path: str, since: datetime) -> story.Found:
    os._exit(3)  # a helper killed mid-pass (out of memory, say)


def test_a_large_pass_runs_in_a_helper_and_folds_the_same(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bbc, reuters, other = _wire_story(db)
    with db.write() as s:
        articles.set_read(s, [bbc], True, now=NOW)
    alone = story.find(db, NOW - 2 * story.WINDOW)  # in this process, writing nothing
    assert alone.changes.tolist() == [[reuters, bbc]] and alone.catch_up.tolist() == [reuters]
    monkeypatch.setattr(story, "FOLD_PROCESS_MIN_ROWS", 1)
    helped: list[object] = []
    elsewhere = story._found_elsewhere
    monkeypatch.setattr(story, "_found_elsewhere", lambda *a: helped.append(a) or elsewhere(*a))
    assert story.fold_recent(db, now=NOW) == 1
    assert helped  # the pass ran in a helper process
    assert story.also_in(db, [bbc, reuters, other]) == {bbc: ["Reuters"]}
    with db.read() as s:
        assert articles.get_article(s, reuters).read  # type: ignore[union-attr]
    # a helper that dies folds nothing this time, says so, and the profile is as it was
    story.separate(db, reuters)
    monkeypatch.setattr(story, "_find_at", _dies)
    with caplog.at_level(logging.ERROR, logger="app.services.story"):
        assert story.fold_recent(db, now=NOW) == 0
    assert "helper process died" in caplog.text
    assert story.also_in(db, [bbc]) == {}


def test_signatures_do_not_depend_on_how_many_sets_are_hashed_at_once() -> None:
    """The chunk only bounds each numpy call (and its hold on the interpreter lock)."""
    rng = np.random.default_rng(3)
    sets = [
        np.unique(rng.integers(0, 2**40, size=int(rng.integers(1, 40)))).astype(np.int64)
        for _ in range(700)
    ]
    whole = story.signatures(sets, chunk=len(sets))
    for chunk in (1, 7, 250):
        assert np.array_equal(story.signatures(sets, chunk=chunk), whole)


def _numpy_shingles(title: str, summary: str) -> np.ndarray:
    """The shingles as they were first hashed, in numpy (uint64 arithmetic, wrapping)."""
    import zlib

    tokens = np.fromiter(
        (
            zlib.crc32(w.encode())
            for w in story.words(title) + story.words(summary)[: story.SUMMARY_WORDS]
        ),
        dtype=np.uint64,
    )
    if tokens.size < 2:
        return np.unique(tokens.astype(np.uint32))
    mixed = (tokens[:-1] * np.uint64(0x9E3779B1)) ^ tokens[1:]
    return np.unique((mixed & np.uint64(0xFFFFFFFF)).astype(np.uint32))


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Fed raises rates again", "The central bank lifted its key rate by a quarter point."),
        ("Ünïcode Ärger ﬁnally fixed", "Straße, ΣΊΣΥΦΟΣ and 東京 in one summary " * 5),
        ("One", ""),
        ("", ""),
        ("the and of", "a an"),
        ("Same same same same", "same same"),
    ],
)
def test_shingles_are_the_same_hashes_numpy_gave(title: str, summary: str) -> None:
    """Hashed in Python so as not to starve the event loop (see :func:`story.shingles`), to
    the same values: stories folded before and after fold alike."""
    got = story.shingles(title, summary)
    assert got.dtype == np.uint32
    assert np.array_equal(got, _numpy_shingles(title, summary))
