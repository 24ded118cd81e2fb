"""Feeds: subscription, counts, scheduling, back-off and deletion."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.storage import feeds as feeds_store
from app.storage.articles import list_articles, set_read, upsert_articles
from app.storage.database import Database, NotFoundError
from app.storage.events import click_history, impressions, record_click, record_impressions
from app.storage.feeds import (
    DuplicateFeedError,
    Fetched,
    add_feed,
    backoff,
    delete_feed,
    due_feeds,
    feed_by_url,
    folders,
    get_feed,
    in_folder,
    list_feeds,
    record_fetch_failure,
    record_fetch_success,
    record_fetch_successes,
    update_feed,
)
from app.storage.schema import Feed
from tests.unit.storage.sample import NOW, item

URL = "https://example.org/feed.xml"


def test_add_and_get(db: Database) -> None:
    with db.write() as s:
        feed = add_feed(s, f"  {URL} ", folder="News", update_interval=600)
    assert (feed.url, feed.folder, feed.update_interval, feed.enabled) == (URL, "News", 600, True)
    assert feed.title == URL  # no title yet: the URL stands in
    assert (feed.error_count, feed.unread, feed.total, feed.next_fetch) == (0, 0, 0, None)
    with db.read() as s:
        assert get_feed(s, feed.id) == feed
        assert feed_by_url(s, URL) == feed
        assert get_feed(s, feed.id + 1) is None
        assert feed_by_url(s, "https://example.org/other.xml") is None


def test_duplicate_url_is_refused(db: Database) -> None:
    with db.write() as s:
        add_feed(s, URL)
    with pytest.raises(DuplicateFeedError), db.write() as s:
        add_feed(s, URL)


def test_list_feeds_counts_in_one_query(db: Database) -> None:
    with db.write() as s:
        tech = add_feed(s, "https://t.example/rss", title="beta tech", folder="Tech")
        other = add_feed(s, "https://o.example/rss", title="Zeta")
        alpha = add_feed(s, "https://a.example/rss", title="Alpha", folder="tech")
        empty = add_feed(s, "https://e.example/rss", title="Empty", folder="Tech")
        upsert_articles(s, tech.id, [item(f"t{n}") for n in range(5)], NOW)
        upsert_articles(s, other.id, [item(f"o{n}") for n in range(3)], NOW)
        set_read(s, [a.id for a in list_articles(s, feed_id=tech.id)][:2], True)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = db._engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.read() as s:
            feeds = list_feeds(s)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert [f.id for f in feeds] == [alpha.id, tech.id, empty.id, other.id]
    counts = {f.id: (f.unread, f.total) for f in feeds}
    assert counts == {tech.id: (3, 5), other.id: (3, 3), alpha.id: (0, 0), empty.id: (0, 0)}


def test_due_feeds(db: Database) -> None:
    with db.write() as s:
        never = add_feed(s, "https://a.example/rss")
        later = add_feed(s, "https://b.example/rss")
        due = add_feed(s, "https://c.example/rss")
        off = add_feed(s, "https://d.example/rss")
        record_fetch_success(s, later.id, NOW, etag=None, last_modified=None)
        record_fetch_success(s, due.id, NOW - timedelta(hours=1), etag=None, last_modified=None)
        update_feed(s, off.id, enabled=False)
        assert [f.id for f in due_feeds(s, NOW)] == [never.id, due.id]
        at_interval = NOW + timedelta(seconds=1800)
        assert {f.id for f in due_feeds(s, at_interval)} == {never.id, due.id, later.id}


def test_lists_without_counts_are_the_counted_lists_with_zero_counts(db: Database) -> None:
    """What a refresh reads: the same feeds, fields and order, only the counts left at 0."""
    with db.write() as s:
        tech = add_feed(s, "https://t.example/rss", title="beta tech", folder="Tech")
        untitled = add_feed(s, "https://u.example/rss", folder="Tech")
        add_feed(s, "https://a.example/rss", title="Alpha", folder="tech", update_interval=60)
        off = add_feed(s, "https://d.example/rss")
        upsert_articles(s, tech.id, [item(f"t{n}") for n in range(5)], NOW)
        record_fetch_success(s, tech.id, NOW, etag='"v1"', last_modified="Sun, 01 Mar 2026")
        record_fetch_failure(s, untitled.id, NOW - timedelta(hours=2), "the server answered 500")
        update_feed(s, off.id, enabled=False)
    with db.read() as s:
        for counted, uncounted in (
            (list_feeds(s), list_feeds(s, counts=False)),
            (due_feeds(s, NOW), due_feeds(s, NOW, counts=False)),
            (
                due_feeds(s, NOW + timedelta(days=2)),
                due_feeds(s, NOW + timedelta(days=2), counts=False),
            ),
        ):
            assert [(f.unread, f.total) for f in uncounted] == [(0, 0)] * len(counted)
            assert [replace(f, unread=0, total=0) for f in counted] == uncounted
    assert any(f.total == 5 for f in counted)
    assert untitled.title == "https://u.example/rss"  # the address stands in, in both


def test_update_feed_changes_only_given_fields(db: Database) -> None:
    with db.write() as s:
        feed = add_feed(s, URL, title="Mine", folder="A", update_interval=900)
        record_fetch_success(s, feed.id, NOW, etag='"v1"', last_modified="yesterday")
        moved = update_feed(s, feed.id, folder=None)
        assert (moved.title, moved.folder, moved.update_interval) == ("Mine", None, 900)
        assert moved.etag == '"v1"'
        changed = update_feed(s, feed.id, update_interval=60, enabled=False, title="Renamed")
        assert (changed.title, changed.update_interval, changed.enabled) == ("Renamed", 60, False)
        assert changed.folder is None
        relocated = update_feed(s, feed.id, url="https://example.org/new.xml")
        assert relocated.url == "https://example.org/new.xml"
        assert (relocated.etag, relocated.last_modified, relocated.next_fetch) == (None, None, None)
        other = add_feed(s, URL)
        with pytest.raises(DuplicateFeedError):
            update_feed(s, other.id, url="https://example.org/new.xml")
        with pytest.raises(NotFoundError):
            update_feed(s, 999, title="x")
        with pytest.raises(ValueError, match="positive"):
            update_feed(s, feed.id, update_interval=0)


def test_feed_title_is_filled_only_when_not_named_by_the_reader(db: Database) -> None:
    with db.write() as s:
        auto = add_feed(s, "https://a.example/rss")
        named = add_feed(s, "https://b.example/rss", title="My name")
        for feed_id in (auto.id, named.id):
            record_fetch_success(s, feed_id, NOW, etag=None, last_modified=None, title="Feed's own")
        assert (get_feed(s, auto.id) or auto).title == "Feed's own"
        assert (get_feed(s, named.id) or named).title == "My name"
        record_fetch_success(s, auto.id, NOW, etag=None, last_modified=None, title="Renamed feed")
        assert (get_feed(s, auto.id) or auto).title == "Renamed feed"
        update_feed(s, auto.id, title="Reader's")
        record_fetch_success(s, auto.id, NOW, etag=None, last_modified=None, title="Feed again")
        assert (get_feed(s, auto.id) or auto).title == "Reader's"


def test_failures_back_off_and_success_resets(db: Database) -> None:
    with db.write() as s:
        feed = add_feed(s, URL, update_interval=1800)
        expected = [3600, 7200, 14400, 28800, 57600, 86400, 86400]
        for n, wait in enumerate(expected, start=1):
            record_fetch_failure(s, feed.id, NOW, f"HTTP 500 #{n}")
            failing = get_feed(s, feed.id)
            assert failing is not None
            assert (failing.error_count, failing.last_error) == (n, f"HTTP 500 #{n}")
            assert failing.next_fetch == NOW + timedelta(seconds=wait)
        record_fetch_failure(s, feed.id, NOW, "429", retry_after=3 * 86400)
        failing = get_feed(s, feed.id)
        assert failing is not None and failing.next_fetch == NOW + timedelta(days=3)
        record_fetch_success(s, feed.id, NOW, etag='"e"', last_modified="lm", site_url="https://x")
        healthy = get_feed(s, feed.id)
        assert healthy is not None
        assert (healthy.error_count, healthy.last_error) == (0, None)
        assert (healthy.etag, healthy.last_modified, healthy.site_url) == ('"e"', "lm", "https://x")
        assert healthy.last_fetch == NOW
        assert healthy.next_fetch == NOW + timedelta(seconds=1800)


def test_one_success_is_stored_by_the_batch_rule(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[int, Fetched]] = []

    def spy(s: Session, fetched: dict[int, Fetched], now: datetime) -> int:
        calls.append(dict(fetched))
        return record_fetch_successes(s, fetched, now)

    monkeypatch.setattr(feeds_store, "record_fetch_successes", spy)
    with db.write() as s:
        feed = add_feed(s, URL)
        record_fetch_success(s, feed.id, NOW, etag="e", last_modified="l", title="T", site_url="u")
    assert calls == [{feed.id: Fetched("e", "l", "T", "u")}]


@pytest.mark.parametrize("stored", [None, "", "Reader's"])
@pytest.mark.parametrize("title", [None, "", "  ", " Feed's own "])
@pytest.mark.parametrize("site_url", [None, "", "https://site.example/"])
def test_one_success_and_a_batch_store_the_same(
    db: Database, stored: str | None, title: str | None, site_url: str | None
) -> None:
    with db.write() as s:
        alone, batched = (add_feed(s, f"https://{n}.example/rss", title=stored).id for n in "ab")
        for feed_id in (alone, batched):
            record_fetch_failure(s, feed_id, NOW - timedelta(hours=1), "HTTP 500")
            s.execute(update(Feed).where(Feed.id == feed_id).values(site_url="https://old/"))
        record_fetch_success(
            s, alone, NOW, etag="e", last_modified="l", title=title, site_url=site_url
        )
        record_fetch_successes(s, {batched: Fetched("e", "l", title, site_url)}, NOW)
    columns = [c for c in Feed.__table__.c if c.name not in ("id", "url", "created")]
    with db.read() as s:
        one, many = (
            s.execute(select(*columns).where(Feed.id == i)).one() for i in (alone, batched)
        )
    assert one == many


def test_a_success_is_seen_by_a_feed_the_session_holds(db: Database) -> None:
    with db.write() as s:
        feed_id = add_feed(s, URL).id
        loaded = s.get(Feed, feed_id)
        assert loaded is not None
        loaded.folder = "Kept"  # a change not yet flushed
        record_fetch_success(s, feed_id, NOW, etag="e", last_modified=None, title="T")
        assert (loaded.etag, loaded.title, loaded.folder, loaded.last_fetch) == (
            "e",
            "T",
            "Kept",
            NOW,
        )


def test_backoff_arithmetic() -> None:
    assert backoff(1800, 1) == timedelta(hours=1)
    assert backoff(600, 3) == timedelta(seconds=4800)
    assert backoff(1800, 10_000) == timedelta(hours=24)
    assert backoff(1800, 1, retry_after=60) == timedelta(hours=1)
    assert backoff(1800, 1, retry_after=7200.5) == timedelta(seconds=7200.5)
    assert backoff(1800, 1, retry_after=-5) == timedelta(hours=1)
    assert backoff(1800, 1, retry_after=float("nan")) == timedelta(hours=1)
    assert backoff(1800, 1, retry_after=float("inf")) == timedelta(hours=1)
    assert backoff(1800, 1, retry_after=1e12) == timedelta(days=7)


def test_fetch_results_for_a_deleted_feed_are_ignored(db: Database) -> None:
    with db.write() as s:
        record_fetch_success(s, 42, NOW, etag=None, last_modified=None)
        record_fetch_failure(s, 42, NOW, "gone")
        assert upsert_articles(s, 42, [item("a")], NOW).new == 0


def test_delete_feed_takes_its_articles_and_events(db: Database) -> None:
    with db.write() as s:
        gone = add_feed(s, "https://a.example/rss")
        kept = add_feed(s, "https://b.example/rss")
        result = upsert_articles(s, gone.id, [item("a1"), item("a2")], NOW)
        kept_ids = upsert_articles(s, kept.id, [item("b1")], NOW).new_ids
        record_impressions(s, [(i, n) for n, i in enumerate(result.new_ids + kept_ids)], "s", NOW)
        record_click(s, result.new_ids[0], "s", NOW)
        record_click(s, kept_ids[0], "s", NOW)
        delete_feed(s, gone.id)
        with pytest.raises(NotFoundError):
            delete_feed(s, gone.id)
    with db.read() as s:
        assert [f.id for f in list_feeds(s)] == [kept.id]
        assert [a.id for a in list_articles(s)] == list(kept_ids)
        assert [c.article_id for c in click_history(s)] == list(kept_ids)
        assert [i.article_id for i in impressions(s)] == list(kept_ids)
        assert list_articles(s, search="Title") == list_articles(s)


def test_a_nested_folder_path_is_stored_without_blanks_or_empty_parts(db: Database) -> None:
    with db.write() as s:
        feed = add_feed(s, URL, folder=" News / Tech/ ")
        assert feed.folder == "News/Tech"
        assert update_feed(s, feed.id, folder="//").folder is None
        assert update_feed(s, feed.id, folder="A//B").folder == "A/B"


def test_folders_lists_the_folders_that_only_hold_folders(db: Database) -> None:
    with db.write() as s:
        add_feed(s, "https://a.example/rss", folder="News/Tech/AI")
        add_feed(s, "https://b.example/rss", folder="news")
        add_feed(s, "https://c.example/rss", folder="News/Tech")
        add_feed(s, "https://d.example/rss")
    with db.read() as s:
        assert folders(s) == ["News", "news", "News/Tech", "News/Tech/AI"]


def test_in_folder_holds_the_folders_inside_it_and_is_case_sensitive(db: Database) -> None:
    names = ["News", "News/Tech", "News/Tech/AI", "news/x", "Newsroom", "Old/News", None]
    with db.write() as s:
        ids = {
            name: add_feed(s, f"https://{n}.example/rss", folder=name).id
            for n, name in enumerate(names)
        }
    with db.read() as s:

        def under(folder: str) -> set[int]:
            return set(s.scalars(select(Feed.id).where(in_folder(folder))))

        assert under("News") == {ids["News"], ids["News/Tech"], ids["News/Tech/AI"]}
        assert under("News/Tech") == {ids["News/Tech"], ids["News/Tech/AI"]}
        assert under("news") == {ids["news/x"]}
        assert under("Old") == {ids["Old/News"]}
