"""Storing a batch of feeds with what :func:`look_up` read for all of them beforehand leaves
exactly the rows that the general path leaves, feed by feed (each of its reads a query of its
own, its new articles an executemany and a query for their ids): every table of the file, ids,
flags, tombstones, attachments and the full-text index's terms, and the same results."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage import lookup
from app.storage.articles import (
    cap_unread,
    first_fetches,
    look_up,
    set_read,
    set_starred,
    upsert_articles,
)
from app.storage.database import Database, savepoint
from app.storage.enclosure import EnclosureRecord
from app.storage.feeds import add_feed, delete_feed
from app.storage.record import IncomingArticle, UpsertResult
from tests.unit.storage.rows import every_row
from tests.unit.storage.sample import NOW, item

Attachments = Mapping[str, Sequence[EnclosureRecord]]
Fetch = tuple[int, Sequence[IncomingArticle], Attachments]
LATER = NOW + timedelta(hours=6)
FILE = "heedful.sqlite"


def _general(path: Path, fetches: Sequence[Fetch], cap: int | None) -> list[UpsertResult]:
    """The batch the general way: each feed reads what it needs itself, in a savepoint."""
    results = []
    with Database(path) as db, db.write() as s:
        for feed_id, items, attachments in fetches:
            with savepoint(s):
                result = upsert_articles(
                    s, feed_id, items, LATER, cap=cap, attachments=attachments, bulk=False
                )
            results.append(result)
    return results


def _batched(path: Path, fetches: Sequence[Fetch], cap: int | None) -> list[UpsertResult]:
    """The batch as a refresh stores it: first fetches and the look-up asked once for all
    feeds (a feed given twice: for its first fetch), then each feed in a savepoint."""
    results = []
    with Database(path) as db, db.write() as s:
        firsts = first_fetches(s, [feed_id for feed_id, _, _ in fetches])
        wanted = {f: items for f, items, _ in reversed(fetches) if firsts.get(f) is False}
        known = look_up(s, wanted)
        for feed_id, items, attachments in fetches:
            with savepoint(s):
                result = upsert_articles(
                    s,
                    feed_id,
                    items,
                    LATER,
                    cap=cap,
                    attachments=attachments,
                    first=firsts.pop(feed_id, None),
                    known=known.pop(feed_id, None),
                )
            results.append(result)
    return results


def _compare(
    root: Path,
    prepare: Callable[[Database], None],
    fetches: Sequence[Fetch],
    cap: int | None,
) -> dict[str, list[tuple[object, ...]]]:
    """Prepare one profile, copy it, store ``fetches`` both ways; assert the same results and
    rows, and return those rows."""
    with Database(root / "template" / FILE) as db:
        prepare(db)
    shutil.copytree(root / "template", root / "general")
    shutil.copytree(root / "template", root / "batched")
    general = _general(root / "general" / FILE, fetches, cap)
    batched = _batched(root / "batched" / FILE, fetches, cap)
    assert batched == general
    rows = every_row(root / "batched" / FILE)
    assert rows == every_row(root / "general" / FILE)
    return rows


def _enclosures(key: str, *names: str) -> list[EnclosureRecord]:
    return [EnclosureRecord(f"https://cdn.example/{key}/{n}.mp3", "audio/mpeg") for n in names]


def _mixed(db: Database) -> None:
    """Eight feeds, each with what one case of the batch below meets."""
    with db.write() as s:
        for n in range(1, 9):
            add_feed(s, f"https://example.org/{n}.xml", title=f"Feed {n}")
        steady = upsert_articles(
            s,
            1,
            [item("a", age_days=3), item("b", age_days=2), item("c", age_days=1)],
            NOW,
            attachments={"a": _enclosures("a", "one")},
        ).new_ids
        set_read(s, [steady[2]], True, now=NOW)
        set_starred(s, steady[1], True)
        churned = [item(k, "Churned", url="https://example.org/g", age_days=1) for k in "gh"]
        _, newer = upsert_articles(s, 2, churned, NOW).new_ids  # the same title and link
        set_read(s, [newer], True, now=NOW)
        upsert_articles(s, 3, [item(f"p{n}", age_days=10 - n) for n in range(1, 5)], NOW)
        cap_unread(s, 3, 2, NOW)  # p1 and p2 buried, by key and by title and link
        upsert_articles(s, 4, [item(f"k{n}", age_days=5 + n) for n in range(3)], NOW)
        upsert_articles(s, 5, [item("x")], NOW)
        future = NOW + timedelta(days=2)
        upsert_articles(s, 7, [item("f1", published=future), item("f2", published=future)], NOW)
        upsert_articles(s, 8, [item("n\x00ul", age_days=1)], NOW)
        delete_feed(s, 5)


def test_a_mixed_batch_is_stored_as_the_general_path_stores_it(tmp_path: Path) -> None:
    future = LATER + timedelta(days=1)
    fetches: list[Fetch] = [
        (
            1,
            [
                item("a", age_days=3),  # unchanged
                item("b", "B edited", age_days=2),  # changed: the star stays
                item("c", age_days=1),  # unchanged, read
                item("d", "First d", age_days=0.5),
                item("e", published=future),  # new, dated in the future: clamped
                item("d", "Last d", age_days=0.4),  # the last version of a key wins
            ],
            {"a": _enclosures("a", "one", "two"), "d": _enclosures("d", "one")},
        ),
        (
            2,
            [item("g2", "Churned", url="https://example.org/g"), item("i")],
            {"g2": _enclosures("g2", "one")},  # on the article it re-keys
        ),
        (
            3,
            [
                item("p1", age_days=9),  # a tombstone's key: skipped
                item("q", "Title p2", url="https://example.org/p2"),  # buried content: skipped
                item("p3", "P3 edited", age_days=7),
                item("r", age_days=0.1),
            ],
            {"r": _enclosures("r", "one")},
        ),
        (
            4,
            [item("k2", age_days=7), *(item(f"k{n}", age_days=n) for n in range(3, 6))],
            {"k2": _enclosures("k2", "one"), "k4": _enclosures("k4", "one")},
        ),  # past the cap: k1 and k2 purged, k2's attachment with it
        (5, [item("x", "Deleted meanwhile")], {}),
        (6, [item("s1"), item("s2", age_days=1)], {"s1": _enclosures("s1", "one")}),  # first
        (
            7,
            [
                item("f1", published=future),  # still in the future: the clamp is kept
                item("f2", "F2 edited", published=future),  # updated, the clamp kept
            ],
            {},
        ),
        (8, [item("n\x00ul", "Edited", age_days=1), item("m")], {}),  # not looked up
        (1, [item("a", "A again", age_days=3), item("z")], {}),  # a repeat reads its own
    ]

    rows = _compare(tmp_path, _mixed, fetches, cap=4)

    keys = {(row[1], row[2]) for row in rows["articles"]}
    assert {key for feed, key in keys if feed == 2} == {"g", "g2", "i"}, "the newest re-keyed"
    assert (3, "p1") not in keys and (3, "q") not in keys
    assert not any(feed == 5 for feed, _ in keys)
    assert len([k for k in keys if k[0] == 4]) == 4, "capped at 4 unread"


def test_the_look_up_reads_for_each_feed_what_its_entries_need(tmp_path: Path) -> None:
    with Database(tmp_path / FILE) as db:
        _mixed(db)
        with db.read() as s:
            entries = {
                1: [item("a"), item("d"), item("a", "Last a")],
                2: [item("g2", "Churned", url="https://example.org/g")],
                3: [item("p1"), item("q", "Title p2", url="https://example.org/p2")],
                8: [item("n\x00ul")],
            }
            known = look_up(s, entries)
    assert set(known) == {1, 2, 3}, "a key with a NUL character is read the general way"
    steady = known[1]
    assert steady.items is entries[1] and list(steady.latest) == ["a", "d"]
    assert steady.latest["a"].title == "Last a"
    assert set(steady.existing) == {"a"} and steady.unread == 2
    [(pair, row)] = known[2].by_content.items()
    assert pair == ("Churned", "https://example.org/g") and row[1] == "h", "the newest"
    assert known[3].buried == {"p1"}
    assert known[3].dead == {"content:Title p2\x1fhttps://example.org/p2"}


def test_a_look_up_for_other_entries_is_refused(tmp_path: Path) -> None:
    with Database(tmp_path / FILE) as db, db.write() as s:
        feed = add_feed(s, "https://example.org/feed.xml").id
        upsert_articles(s, feed, [item("a")], NOW)
        known = look_up(s, {feed: [item("a")]})[feed]
        with pytest.raises(ValueError, match="other entries"):
            upsert_articles(s, feed, [item("a")], LATER, known=known)


def test_a_look_up_that_fails_leaves_each_feed_to_read_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lookup, "_look_up", broken)
    with Database(tmp_path / FILE) as db, db.write() as s:
        feed = add_feed(s, "https://example.org/feed.xml").id
        assert look_up(s, {feed: [item("a")]}) == {}


_keys = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])
_titles = st.one_of(st.none(), st.sampled_from(["One", "Two"]))
_urls = st.one_of(st.none(), st.sampled_from(["", "https://example.org/one"]))
_items = st.builds(
    item,
    _keys,
    _titles,
    summary=st.sampled_from(["", "text"]),
    url=_urls,
    author=st.one_of(st.none(), st.just("Ann")),
    age_days=st.one_of(st.none(), st.floats(min_value=-2, max_value=30)),
)
_history = st.tuples(
    st.lists(_items, max_size=8),  # the feed's earlier fetch (none: its next one is its first)
    st.one_of(st.none(), st.integers(min_value=1, max_value=4)),  # a cap that buried some
    st.sets(st.integers(min_value=0, max_value=7), max_size=3),  # which of them were read
)
_fetch = st.tuples(
    st.integers(min_value=1, max_value=3),
    st.lists(_items, min_size=1, max_size=10),
    st.dictionaries(_keys, st.integers(min_value=0, max_value=2), max_size=3),
)


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    histories=st.lists(_history, min_size=3, max_size=3),
    fetches=st.lists(_fetch, min_size=1, max_size=5),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
)
def test_any_batch_is_stored_as_the_general_path_stores_it(
    histories: list[tuple[list[IncomingArticle], int | None, set[int]]],
    fetches: list[tuple[int, list[IncomingArticle], dict[str, int]]],
    cap: int | None,
) -> None:
    def prepare(db: Database) -> None:
        with db.write() as s:
            for feed_id, (items, buried, read) in enumerate(histories, start=1):
                add_feed(s, f"https://example.org/{feed_id}.xml")
                ids = upsert_articles(s, feed_id, items, NOW, cap=None).new_ids
                set_read(s, [ids[n] for n in read if n < len(ids)], True, now=NOW)
                if buried is not None:
                    cap_unread(s, feed_id, buried, NOW)

    batch = [
        (feed_id, items, {k: _enclosures(k, *map(str, range(n))) for k, n in attached.items()})
        for feed_id, items, attached in fetches
    ]
    with tempfile.TemporaryDirectory() as root:
        _compare(Path(root), prepare, batch, cap)
