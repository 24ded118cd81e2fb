"""A refresh batch reads what its feeds' articles need in one look-up for all of them
(:func:`app.storage.articles.look_up`), then stores each feed in its own savepoint: the file it
leaves is the one that each feed reading its own, the general way, leaves, whatever the batch
holds, and a feed that cannot be stored still fails alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.feeds.enclosure import FeedEnclosure
from app.feeds.entry import ParsedEntry, ParsedFeed
from app.services.refresh import Outcome, Stored, store_outcomes
from app.storage import articles, feeds, lookup, setting
from app.storage.database import Database
from app.storage.record import FeedRecord, UpsertResult
from tests.unit.storage.rows import every_row

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
FILE = "heedful.sqlite"


def _entry(
    key: str,
    title: str | None = None,
    *,
    link: str | None = None,
    hours: float | None = 1.0,
    files: int = 0,
) -> ParsedEntry:
    """An entry ``hours`` before NOW (after it when negative, none when None)."""
    return ParsedEntry(
        dedup_key=key,
        url=link or f"https://example.org/{key}",
        title=title or f"Story {key}",
        summary_html=f"<p>About {key}</p>",
        summary_text=f"About {key}",
        author=None,
        published=None if hours is None else NOW - timedelta(hours=hours),
        enclosures=tuple(
            FeedEnclosure(f"https://cdn.example/{key}/{n}.mp3", "audio/mpeg", 100 + n)
            for n in range(files)
        ),
    )


def _outcome(feed: FeedRecord, *entries: ParsedEntry) -> Outcome:
    parsed = ParsedFeed(f"Feed {feed.id}", "https://example.org/", tuple(entries), ())
    return Outcome(feed, parsed=parsed, etag=f'"{feed.id}-{len(entries)}"', http_status=200)


@pytest.fixture
def template(tmp_path: Path) -> Iterator[tuple[Path, list[FeedRecord]]]:
    """A profile whose eight feeds were fetched once (the fifth never: its next is its first),
    with some articles read and starred, and an unread cap of 5."""
    with Database(tmp_path / "template" / FILE) as db:
        with db.write() as s:
            subscribed = [feeds.add_feed(s, f"https://example.org/{n}.xml") for n in range(8)]
            setting.set_setting(s, articles.UNREAD_CAP_SETTING, "5")
        first = [
            _outcome(subscribed[0], *(_entry(f"a{n}", hours=n, files=n % 2) for n in range(4))),
            _outcome(subscribed[1], _entry("g1", "Same story", link="https://example.org/g")),
            _outcome(subscribed[2], *(_entry(f"c{n}", hours=10 + n) for n in range(5))),
            _outcome(subscribed[3], _entry("f1", hours=-30), _entry("f2", hours=-30)),
            _outcome(subscribed[5], _entry("d1")),
            _outcome(subscribed[6], _entry("o1")),
            _outcome(subscribed[7], _entry("u1")),
        ]
        assert all(stored.error is None for stored in store_outcomes(db, first, NOW))
        with db.write() as s:
            ids = articles.unread_ids(s, feed_id=subscribed[0].id)
            articles.set_read(s, ids[:1], True, now=NOW)
            articles.set_starred(s, ids[1], True)
            feeds.delete_feed(s, subscribed[5].id)
    yield tmp_path, subscribed


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every feed reads its own, and writes the general way (an executemany, its ids read)."""
    real = articles.upsert_articles

    def upsert(*args: Any, known: object = None, **given: Any) -> UpsertResult:
        return real(*args, **{**given, "bulk": False})

    monkeypatch.setattr(articles, "upsert_articles", upsert)


def _store_both(
    root: Path, outcomes: Sequence[Outcome], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Stored], dict[str, list[tuple[object, ...]]]]:
    """Store ``outcomes`` into two copies of the template, with the look-up and the general
    way; assert the same results and rows, and return them."""
    shutil.copytree(root / "template", root / "batched")
    shutil.copytree(root / "template", root / "general")
    with Database(root / "batched" / FILE) as db:
        batched = store_outcomes(db, outcomes, LATER)
    with monkeypatch.context() as patch, Database(root / "general" / FILE) as db:
        _general(patch)
        general = store_outcomes(db, outcomes, LATER)
    assert batched == general
    rows = every_row(root / "batched" / FILE)
    assert rows == every_row(root / "general" / FILE)
    return batched, rows


def test_a_mixed_refresh_batch_stores_what_the_general_path_stores(
    template: tuple[Path, list[FeedRecord]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, subscribed = template
    steady, churning, capped, dated, fresh, deleted, _, odd = subscribed
    outcomes = [
        _outcome(
            steady,
            _entry("a0", hours=0, files=2),  # unchanged, a second attachment
            _entry("a1", "Edited", hours=1, files=1),
            _entry("a2", hours=2),
            _entry("a9", "First version", hours=-5, files=1),  # new, in the future: clamped
            _entry("a9", "Last version", hours=-5, files=1),  # the last version wins
        ),
        _outcome(churning, _entry("g2", "Same story", link="https://example.org/g")),
        _outcome(capped, *(_entry(f"c{n}", hours=n) for n in range(5, 9))),  # past the cap
        _outcome(dated, _entry("f1", hours=-40), _entry("f2", "Edited", hours=-40)),
        _outcome(fresh, _entry("e1", files=1), _entry("e2", hours=None)),  # its first fetch
        _outcome(deleted, _entry("d2")),
        Outcome(subscribed[6], error="the server did not answer in time"),
        _outcome(odd, _entry("u1"), _entry("u\ud800")),  # a key not bound: it fails alone
        Outcome(steady, not_modified=True, etag='"304"'),
        _outcome(steady, _entry("a3", "Edited again", hours=3)),  # the same feed again
    ]

    looked: list[set[int]] = []
    real = articles.look_up

    def look_up(*args: Any) -> dict[int, articles.Known]:
        found = real(*args)
        looked.append(set(found))
        return found

    monkeypatch.setattr(articles, "look_up", look_up)

    stored, rows = _store_both(root, outcomes, monkeypatch)

    assert looked[0] == {steady.id, churning.id, capped.id, dated.id, odd.id}
    assert [(s.new, s.updated) for s in stored][:4] == [(1, 1), (0, 1), (4, 0), (0, 1)]
    assert stored[7].error is not None and "UnicodeEncodeError" in stored[7].error
    keys = {(row[1], row[2]) for row in rows["articles"]}
    assert (churning.id, "g2") in keys and (churning.id, "g1") not in keys
    assert len([key for key in keys if key[0] == capped.id]) == 5


def test_a_feed_that_cannot_be_stored_still_fails_alone(
    template: tuple[Path, list[FeedRecord]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, subscribed = template
    steady, churning, capped = subscribed[:3]
    real = articles.upsert_articles

    def upsert(s: Any, feed_id: int, *args: Any, **given: Any) -> UpsertResult:
        result: UpsertResult = real(s, feed_id, *args, **given)
        if feed_id == churning.id:
            raise RuntimeError("a bug after some rows were written")
        return result

    monkeypatch.setattr(articles, "upsert_articles", upsert)
    outcomes = [
        _outcome(steady, _entry("a7")),
        _outcome(churning, _entry("g3", "Same story", link="https://example.org/g")),
        _outcome(capped, _entry("c9")),
    ]

    stored, rows = _store_both(root, outcomes, monkeypatch)

    assert [(s.new, s.error is None) for s in stored] == [(1, True), (0, False), (1, True)]
    assert {row[2] for row in rows["articles"] if row[1] == churning.id} == {"g1"}


def test_a_look_up_that_fails_leaves_the_batch_to_the_general_path(
    template: tuple[Path, list[FeedRecord]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, subscribed = template

    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lookup, "_look_up", broken)
    outcomes = [_outcome(subscribed[0], _entry("a8")), _outcome(subscribed[2], _entry("c8"))]

    stored, _ = _store_both(root, outcomes, monkeypatch)

    assert [(s.new, s.error) for s in stored] == [(1, None), (1, None)]
