"""A refresh writes many feeds' outcomes in one transaction: a feed that cannot be stored fails
alone, and a refresh where every feed answers 304 changes no article."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from app.feeds.fetcher import FetchLimits
from app.feeds.parser import parse_feed
from app.services.profile import Profile
from app.services.refresh import Outcome, Refresher, store_outcomes
from app.storage import articles, feeds, setting
from app.storage.record import FeedRecord, IncomingArticle, UpsertResult
from harness.server import LocalServer, Reply, Request
from tests.e2e.feedgen import rss

LIMITS = FetchLimits(connect_timeout=10.0, total_timeout=30.0)  # generous: the machine may be busy
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    with Profile(tmp_path / "profile") as opened:
        yield opened


def _subscribe(profile: Profile, *urls: str) -> list[FeedRecord]:
    with profile.db.write() as s:
        return [feeds.add_feed(s, url) for url in urls]


def _outcome(feed: FeedRecord, *keys: str) -> Outcome:
    body = rss(feed.url, [(k, f"{k} title") for k in keys])
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, feed.url)
    return Outcome(feed, parsed=parsed, etag=f'"{feed.id}"', http_status=200)


def _titles(profile: Profile, feed_id: int) -> list[str]:
    with profile.db.read() as s:
        return sorted(a.title for a in articles.list_articles(s, feed_id=feed_id, limit=100))


def test_a_feed_that_cannot_be_stored_fails_alone_and_the_others_keep_their_articles(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, broken, unreachable, last = _subscribe(
        profile, "https://a.test/f", "https://b.test/f", "https://c.test/f", "https://d.test/f"
    )
    real = articles.upsert_articles

    def upsert(
        s: object, feed_id: int, items: Sequence[IncomingArticle], now: datetime, **given: Any
    ) -> object:
        result: UpsertResult = real(s, feed_id, items, now, **given)  # type: ignore[arg-type]
        if feed_id == broken.id:
            raise RuntimeError("a bug after some rows were written")
        return result

    monkeypatch.setattr(articles, "upsert_articles", upsert)
    outcomes = [
        _outcome(first, "a1", "a2"),
        _outcome(broken, "b1", "b2"),
        Outcome(unreachable, error="the server did not answer in time"),
        _outcome(last, "d1"),
    ]

    stored = store_outcomes(profile.db, outcomes, NOW)

    assert [(r.new, r.updated) for r in stored] == [(2, 0), (0, 0), (0, 0), (1, 0)]
    assert stored[0].error is None and stored[3].error is None
    assert stored[1].error is not None and "could not be stored" in stored[1].error
    assert stored[2].error is None, "a fetch failure is the outcome's, not the store's"
    assert _titles(profile, first.id) == ["a1 title", "a2 title"]
    assert _titles(profile, broken.id) == [], "the broken feed's rows are rolled back"
    assert _titles(profile, last.id) == ["d1 title"]
    with profile.db.read() as s:
        by_id = {f.id: f for f in feeds.list_feeds(s)}
    assert by_id[first.id].etag == f'"{first.id}"' and by_id[first.id].error_count == 0
    assert by_id[broken.id].error_count == 1 and by_id[broken.id].etag is None
    assert by_id[unreachable.id].error_count == 1
    assert by_id[last.id].last_fetch == NOW


def test_not_modified_in_bulk_keeps_articles_clears_errors_and_skips_deleted_feeds(
    profile: Profile,
) -> None:
    kept, failing, deleted = _subscribe(
        profile, "https://a.test/f", "https://b.test/f", "https://c.test/f"
    )
    store_outcomes(profile.db, [_outcome(kept, "k1")], NOW)
    store_outcomes(profile.db, [Outcome(failing, error="boom")], NOW)
    with profile.db.write() as s:
        feeds.delete_feed(s, deleted.id)
    later = NOW + timedelta(hours=1)
    outcomes = [
        Outcome(f, not_modified=True, etag=f'"v{f.id}"', last_modified="Mon, 01 Jan 2024")
        for f in (kept, failing, deleted)
    ]

    stored = store_outcomes(profile.db, outcomes, later)

    assert all(r.error is None and (r.new, r.updated) == (0, 0) for r in stored)
    with profile.db.read() as s:
        by_id = {f.id: f for f in feeds.list_feeds(s)}
    assert set(by_id) == {kept.id, failing.id}, "a deleted feed is not brought back"
    for record in by_id.values():
        assert record.etag == f'"v{record.id}"'
        assert record.last_modified == "Mon, 01 Jan 2024"
        assert (record.last_fetch, record.error_count, record.last_error) == (later, 0, None)
        assert record.next_fetch == later + timedelta(seconds=record.update_interval)
    assert _titles(profile, kept.id) == ["k1 title"]


def test_an_all_304_refresh_of_many_feeds_changes_no_article(
    http_server: LocalServer, profile: Profile
) -> None:
    count = 30  # enough for the parser processes and several feeds a batch

    def handler(request: Request) -> Reply:
        name = request.path.rsplit("/", 1)[-1]
        body = rss(name, [(f"{name}-{j}", f"{name} story {j}") for j in range(3)])
        tag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("if-none-match") == tag:
            return Reply(status=304, body=b"", headers={"ETag": tag})
        return Reply(body=body, content_type="application/rss+xml", headers={"ETag": tag})

    for i in range(count):
        http_server.route(f"/f{i}", handler)
    _subscribe(profile, *(http_server.url(f"/f{i}") for i in range(count)))
    refresher = Refresher(profile.db, limits=LIMITS)
    first = refresher.refresh()
    with profile.db.write() as s:
        some = articles.list_articles(s, limit=5)
        articles.set_read(s, [some[0].id], True)
        articles.set_starred(s, some[1].id, True)
        before = articles.list_articles(s, limit=1000)
        fetched = {f.id: f.last_fetch for f in feeds.list_feeds(s)}

    second = refresher.refresh()

    assert (first.ok, first.new) == (count, 3 * count)
    assert (second.not_modified, second.failed, second.new, second.updated) == (count, 0, 0, 0)
    with profile.db.read() as s:
        after = articles.list_articles(s, limit=1000)
        records = feeds.list_feeds(s)
    assert after == before, "a 304 changes no article, flag or date"
    for record in records:
        previous = fetched[record.id]
        assert record.last_fetch is not None and previous is not None
        assert record.last_fetch > previous


def test_a_batch_takes_the_feeds_own_title_only_where_the_reader_named_none(
    profile: Profile,
) -> None:
    with profile.db.write() as s:
        auto = feeds.add_feed(s, "https://a.test/f")
        named = feeds.add_feed(s, "https://b.test/f", title="My name for it")
    outcomes = [_outcome(auto, "a1"), _outcome(named, "b1")]

    store_outcomes(profile.db, outcomes, NOW)

    with profile.db.read() as s:
        first = {f.id: f for f in feeds.list_feeds(s)}
    assert first[auto.id].title == auto.url, "the feed's own title (rss() names it by its url)"
    assert first[named.id].title == "My name for it"
    assert first[auto.id].site_url == "https://example.org/"
    with profile.db.write() as s:
        feeds.update_feed(s, auto.id, title="Renamed")
    store_outcomes(profile.db, [_outcome(auto, "a2")], NOW + timedelta(hours=1))
    store_outcomes(
        profile.db,
        [Outcome(named, not_modified=True, etag='"n"')],
        NOW + timedelta(hours=1),
    )
    with profile.db.read() as s:
        after = {f.id: f for f in feeds.list_feeds(s)}
    assert after[auto.id].title == "Renamed", "a title the reader gave is never overwritten"
    assert after[named.id].title == "My name for it"
    assert after[named.id].etag == '"n"'


def test_a_batch_reads_the_unread_cap_once_and_caps_every_feed_by_it(profile: Profile) -> None:
    first, second, third = _subscribe(
        profile, "https://a.test/f", "https://b.test/f", "https://c.test/f"
    )
    with profile.db.write() as s:
        setting.set_setting(s, articles.UNREAD_CAP_SETTING, "2")
    outcomes = [_outcome(f, *(f"{f.id}-{n}" for n in range(3))) for f in (first, second, third)]
    reads: list[str] = []

    def count(*args: object) -> None:
        if "FROM settings" in str(args[2]):
            reads.append(str(args[2]))

    engine = profile.db._engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        stored = store_outcomes(profile.db, outcomes, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert len(reads) == 1, reads
    assert [r.new for r in stored] == [2, 2, 2]
    for feed in (first, second, third):
        assert len(_titles(profile, feed.id)) == 2
