"""Articles: dedup, update in place, flags, search, retention and counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage.articles import (
    UNREAD_CAP_SETTING,
    article_feeds,
    article_titles,
    fts_query,
    get_article,
    list_articles,
    list_candidates,
    mark_all_read,
    purge_old,
    set_read,
    set_starred,
    stats,
    unread_ids,
    upsert_articles,
)
from app.storage.database import Database, NotFoundError
from app.storage.events import add_model_version, record_click, record_impressions
from app.storage.feeds import add_feed, record_fetch_failure
from app.storage.record import UpsertResult
from app.storage.setting import set_setting
from tests.unit.storage.sample import NOW, item


@pytest.fixture
def feed_id(db: Database) -> int:
    with db.write() as s:
        return add_feed(s, "https://example.org/feed.xml", title="Example").id


def _upsert(db: Database, feed_id: int, *items: object, now: datetime = NOW) -> UpsertResult:
    with db.write() as s:
        return upsert_articles(s, feed_id, list(items), now)  # type: ignore[arg-type]


def test_new_articles_are_inserted_unread(db: Database, feed_id: int) -> None:
    result = _upsert(db, feed_id, item("a", age_days=1), item("b", author="Ann"))
    assert (result.new, result.updated, len(result.new_ids)) == (2, 0, 2)
    with db.read() as s:
        a = get_article(s, result.new_ids[0])
        b = get_article(s, result.new_ids[1])
    assert a is not None and b is not None
    assert (a.title, a.feed_id, a.feed_title, a.read, a.starred) == (
        "Title a",
        feed_id,
        "Example",
        False,
        False,
    )
    assert a.published == NOW - timedelta(days=1) and a.fetched == NOW
    assert a.published.tzinfo is UTC and a.fetched.tzinfo is UTC
    assert (b.author, b.published) == ("Ann", None)


def test_same_key_updates_in_place_and_keeps_flags(db: Database, feed_id: int) -> None:
    [first] = _upsert(db, feed_id, item("a", "Old title", summary="old")).new_ids
    with db.write() as s:
        set_read(s, [first], True)
        set_starred(s, first, True)
    edited = item("a", "New title", summary="new text", url="https://example.org/moved")
    result = _upsert(db, feed_id, edited, now=NOW + timedelta(hours=1))
    assert (result.new, result.updated, result.new_ids) == (0, 1, ())
    with db.read() as s:
        article = get_article(s, first)
    assert article is not None
    assert (article.title, article.summary_text, article.url) == (
        "New title",
        "new text",
        "https://example.org/moved",
    )
    assert (article.read, article.starred, article.fetched) == (True, True, NOW)
    assert _upsert(db, feed_id, edited) == UpsertResult(0, 0, ())


def test_unchanged_repeat_is_neither_new_nor_updated(db: Database, feed_id: int) -> None:
    batch = [item(f"k{n}", age_days=n) for n in range(20)]
    assert _upsert(db, feed_id, *batch).new == 20
    assert _upsert(db, feed_id, *batch) == UpsertResult(0, 0, ())


def test_published_in_another_zone_is_the_same_instant(db: Database, feed_id: int) -> None:
    paris = timezone(timedelta(hours=1))
    _upsert(db, feed_id, item("a", published=datetime(2026, 3, 1, 13, 0, tzinfo=paris)))
    same = item("a", published=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert _upsert(db, feed_id, same) == UpsertResult(0, 0, ())
    naive = item("a", published=datetime(2026, 3, 1, 12, 0))
    assert _upsert(db, feed_id, naive) == UpsertResult(0, 0, ())


def test_key_twice_in_a_batch_counts_once_and_last_wins(db: Database, feed_id: int) -> None:
    result = _upsert(db, feed_id, item("a", "first"), item("b"), item("a", "second"))
    assert (result.new, result.updated) == (2, 0)
    with db.read() as s:
        assert sorted(article_titles(s).values()) == ["Title b", "second"]


def test_same_key_in_two_feeds_is_two_articles(db: Database, feed_id: int) -> None:
    with db.write() as s:
        other = add_feed(s, "https://other.example/rss").id
    assert _upsert(db, feed_id, item("a")).new == 1
    assert _upsert(db, other, item("a")).new == 1


def test_large_batch_spans_chunks(db: Database, feed_id: int) -> None:
    batch = [item(f"k{n}") for n in range(1234)]
    result = _upsert(db, feed_id, *batch)
    assert result.new == 1234 and len(set(result.new_ids)) == 1234
    with db.read() as s:
        titles = article_titles(s, result.new_ids)
    assert [titles[i] for i in result.new_ids] == [f"Title k{n}" for n in range(1234)]
    changed = [item(f"k{n}", "changed") if n % 2 else item(f"k{n}") for n in range(1234)]
    assert _upsert(db, feed_id, *changed) == UpsertResult(0, 617, ())


def test_article_feeds_maps_each_article_to_its_feed(db: Database, feed_id: int) -> None:
    with db.write() as s:
        other = add_feed(s, "https://other.example/rss").id
    mine = _upsert(db, feed_id, item("a"), item("b")).new_ids
    theirs = _upsert(db, other, item("a")).new_ids
    with db.read() as s:
        assert article_feeds(s) == {mine[0]: feed_id, mine[1]: feed_id, theirs[0]: other}
        assert article_feeds(s, [theirs[0], 9999]) == {theirs[0]: other}


def test_list_order_and_filters(db: Database, feed_id: int) -> None:
    with db.write() as s:
        other = add_feed(s, "https://other.example/rss", folder="Science").id
    old, undated, new = _upsert(
        db, feed_id, item("old", age_days=3), item("undated"), item("new", age_days=1)
    ).new_ids
    [sci] = _upsert(db, other, item("sci", age_days=2)).new_ids
    with db.write() as s:
        set_read(s, [new], True)
        set_starred(s, old, True)
    with db.read() as s:

        def ids(**kwargs: object) -> list[int]:
            return [a.id for a in list_articles(s, **kwargs)]  # type: ignore[arg-type]

        assert ids() == [undated, new, sci, old]  # undated: fetched NOW is newest
        assert ids(newest_first=False) == [old, sci, new, undated]
        assert ids(unread_only=True) == [undated, sci, old]
        assert ids(feed_id=other) == [sci]
        assert ids(folder="Science") == [sci]
        assert ids(starred_only=True) == [old]
        assert ids(ids=[old, sci, 999]) == [sci, old]
        assert ids(ids=[]) == []
        assert ids(limit=2) == [undated, new]
        assert ids(limit=2, offset=2) == [sci, old]
        assert unread_ids(s) == [undated, sci, old]
        assert unread_ids(s, feed_id=feed_id) == [undated, old]
        assert unread_ids(s, folder="Science") == [sci]
        assert article_titles(s, [sci, 12345]) == {sci: "Title sci"}

        # the ranking view of the same filters: same articles, same order, few columns
        for filters in ({}, {"unread_only": True}, {"folder": "Science"}, {"starred_only": True}):
            found = list_candidates(s, **filters)  # type: ignore[arg-type]
            assert [c.id for c in found] == ids(**filters), filters
        (candidate,) = list_candidates(s, feed_id=other)
        assert (candidate.feed_id, candidate.title) == (other, "Title sci")
        assert candidate.time.tzinfo is not None


def test_equal_times_order_by_id(db: Database, feed_id: int) -> None:
    ids = _upsert(db, feed_id, *(item(f"k{n}", age_days=1) for n in range(5))).new_ids
    with db.read() as s:
        assert [a.id for a in list_articles(s)] == sorted(ids, reverse=True)


def test_set_read_counts_changes(db: Database, feed_id: int) -> None:
    ids = _upsert(db, feed_id, item("a"), item("b"), item("c")).new_ids
    with db.write() as s:
        assert set_read(s, [ids[0], ids[1], ids[1], 999], True) == 2
        assert set_read(s, [ids[0], ids[2]], True) == 1
        assert set_read(s, [ids[0]], False) == 1
        assert set_read(s, [], True) == 0
        with pytest.raises(NotFoundError):
            set_starred(s, 999, True)


def test_mark_all_read_scopes(db: Database, feed_id: int) -> None:
    with db.write() as s:
        other = add_feed(s, "https://other.example/rss", folder="F").id
    _upsert(db, feed_id, item("a"), now=NOW - timedelta(hours=2))
    _upsert(db, feed_id, item("late"), now=NOW)
    [o] = _upsert(db, other, item("o")).new_ids
    with db.write() as s:
        assert mark_all_read(s, feed_id=feed_id, upto=NOW - timedelta(hours=1)) == 1
        assert mark_all_read(s, folder="F") == 1
        assert unread_ids(s) != [] and o not in unread_ids(s)
        assert mark_all_read(s) == 1
        assert unread_ids(s) == []


def test_search_matches_title_and_summary(db: Database, feed_id: int) -> None:
    a, b, c = _upsert(
        db,
        feed_id,
        item("a", "Central bank raises rates", summary="Inflation is stubborn"),
        item("b", "Storm hits the coast", summary="The central square flooded"),
        item("c", "Café culture", summary="Économie locale"),
    ).new_ids
    with db.read() as s:

        def found(query: str) -> set[int]:
            return {x.id for x in list_articles(s, search=query)}

        assert found("central") == {a, b}
        assert found("CENTRAL bank") == {a}
        assert found("infl") == {a}  # words are prefixes: search as you type
        assert found("cafe") == {c} and found("economie") == {c}
        assert found("zebra") == set()
        assert found("   ") == {a, b, c}
        assert found("storm") == {b} == {x.id for x in list_articles(s, search="storm", ids=[b])}


HOSTILE = [
    '"foo',
    "AND",
    "OR OR",
    "NOT",
    "bank AND",
    "NEAR(bank rates)",
    "title:bank",
    "-bank",
    "^bank",
    "bank*",
    "*",
    "(",
    ")",
    '""',
    "'",
    "\\",
    "a\x00b",
    "bank + rates",
    "{title summary_text}: bank",
    "; DROP TABLE articles; --",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_search_strings_never_fail(db: Database, feed_id: int, query: str) -> None:
    _upsert(db, feed_id, item("a", "Central bank raises rates"))
    with db.read() as s:
        list_articles(s, search=query)
        assert len(list_articles(s)) == 1


@pytest.fixture(scope="module")
def search_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(Path(tmp_path_factory.mktemp("search")) / "db.sqlite")
    with database.write() as s:
        feed = add_feed(s, "https://example.org/feed.xml").id
        upsert_articles(s, feed, [item("a", "Central bank", summary="rates AND NOT")], NOW)
    yield database
    database.close()


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(query=st.text(max_size=40))
def test_any_search_string_is_safe(search_db: Database, query: str) -> None:
    with search_db.read() as s:
        result = list_articles(s, search=query)
    assert len(result) <= 1
    phrase = fts_query(query)
    assert phrase is None or phrase.count('"') % 2 == 0


def test_search_follows_updates_and_deletes(db: Database, feed_id: int) -> None:
    [a] = _upsert(db, feed_id, item("a", "Volcano erupts", age_days=400)).new_ids
    with db.read() as s:
        assert [x.id for x in list_articles(s, search="volcano")] == [a]
    _upsert(db, feed_id, item("a", "Glacier melts", age_days=400))
    with db.write() as s:
        assert list_articles(s, search="volcano") == []
        assert [x.id for x in list_articles(s, search="glacier")] == [a]
        set_read(s, [a], True, now=NOW - timedelta(days=31))
        assert [x.id for x in list_articles(s, search="glacier")] == [a]
        assert purge_old(s, NOW, 30) == 1
        assert list_articles(s, search="glacier") == []


def test_purge_keeps_starred_clicked_unread_and_recent(db: Database, feed_id: int) -> None:
    old = {k: item(k, age_days=60) for k in ("plain", "starred", "clicked", "unread")}
    ids = dict(zip(old, _upsert(db, feed_id, *old.values()).new_ids, strict=True))
    [recent] = _upsert(db, feed_id, item("recent", age_days=5)).new_ids
    [undated] = _upsert(db, feed_id, item("undated"), now=NOW - timedelta(days=90)).new_ids
    long_ago = NOW - timedelta(days=60)
    with db.write() as s:
        set_read(s, [ids[k] for k in ("plain", "starred", "clicked")], True, now=long_ago)
        set_read(s, [undated], True, now=long_ago)
        set_read(s, [recent], True, now=NOW - timedelta(days=5))
        set_starred(s, ids["starred"], True)
        record_click(s, ids["clicked"], "s1", NOW)
        record_impressions(s, [(ids["plain"], 0)], "s2", NOW)
        assert purge_old(s, NOW, 30) == 2
        left = {a.id for a in list_articles(s, limit=1000)}
        assert left == {ids["starred"], ids["clicked"], ids["unread"], recent}
        assert stats(s).impressions == 0
        assert purge_old(s, NOW, 30) == 0
        with pytest.raises(ValueError, match="older_than_days"):
            purge_old(s, NOW, -1)


def test_tombstones_stop_purged_articles_coming_back(db: Database, feed_id: int) -> None:
    [gone] = _upsert(db, feed_id, item("gone", age_days=60)).new_ids
    with db.write() as s:
        set_read(s, [gone], True, now=NOW - timedelta(days=60))
        assert purge_old(s, NOW, 30) == 1
    result = _upsert(db, feed_id, item("gone", "edited", age_days=60), item("fresh"))
    assert result.new == 1 and result.updated == 0
    with db.read() as s:
        assert [a.title for a in list_articles(s)] == ["Title fresh"]
        assert unread_ids(s) == list(result.new_ids)


def test_a_first_fetch_beyond_the_unread_cap_keeps_the_newest(db: Database, feed_id: int) -> None:
    with db.write() as s:
        set_setting(s, UNREAD_CAP_SETTING, "3")
    result = _upsert(db, feed_id, *(item(f"k{i}", age_days=i) for i in range(5)))
    assert result.new == 3 and len(result.new_ids) == 3
    with db.read() as s:
        assert sorted(a.title for a in list_articles(s)) == ["Title k0", "Title k1", "Title k2"]
    again = _upsert(db, feed_id, *(item(f"k{i}", age_days=i) for i in range(5)))
    assert (again.new, again.updated) == (0, 0), "the purged ones stay buried"


def test_stats(db: Database, feed_id: int) -> None:
    with db.write() as s:
        assert stats(s).articles == 0 and stats(s).model_version is None
        broken = add_feed(s, "https://broken.example/rss").id
        record_fetch_failure(s, broken, NOW, "timeout")
        ids = upsert_articles(s, feed_id, [item("a"), item("b"), item("c")], NOW).new_ids
        set_read(s, [ids[0]], True)
        set_starred(s, ids[1], True)
        record_impressions(s, [(ids[0], 0), (ids[1], 1)], "s", NOW)
        record_click(s, ids[0], "s", NOW)
        version = add_model_version(s, "m/1.pt", "0" * 64, NOW, 1, {}).id
        summary = stats(s)
    assert (summary.feeds, summary.feeds_failed, summary.articles, summary.unread) == (2, 1, 3, 2)
    assert (summary.starred, summary.impressions, summary.clicks) == (1, 2, 1)
    assert summary.model_version == version


def test_many_ids_filter(db: Database, feed_id: int) -> None:
    ids = _upsert(db, feed_id, *(item(f"k{n}") for n in range(1500))).new_ids
    wanted = [*ids[::2], 10**9]
    with db.read() as s:
        found = list_articles(s, ids=wanted, limit=5000)
    assert sorted(a.id for a in found) == sorted(ids[::2])


def test_future_dates_are_clamped_to_the_fetch_time(db: Database, feed_id: int) -> None:
    future = item("f", published=NOW + timedelta(days=365))
    f, _ = _upsert(db, feed_id, future, item("now", age_days=0.5)).new_ids
    assert _upsert(db, feed_id, future, now=NOW + timedelta(hours=1)) == UpsertResult(0, 0, ())
    with db.read() as s:
        article = get_article(s, f)
        assert article is not None and article.published == NOW
        assert list_articles(s)[0].id == f
