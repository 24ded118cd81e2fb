"""The refresh pipeline against a real local server, into a real profile."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.feeds.fetcher import FetchLimits
from app.services import reading
from app.services.profile import Profile
from app.services.refresh import Refresher, RefreshProgress
from app.storage import articles, feeds
from harness.server import LocalServer, Reply, Request
from tests.e2e.feedgen import rss

FAST = FetchLimits(connect_timeout=2.0, total_timeout=2.0)


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    with Profile(tmp_path / "profile") as opened:
        yield opened


def _subscribe(profile: Profile, *urls: str) -> list[int]:
    with profile.db.write() as s:
        return [feeds.add_feed(s, url).id for url in urls]


def _etag_handler(body_of: dict[str, bytes]) -> object:
    def handler(request: Request) -> Reply:
        body = body_of["body"]
        tag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("if-none-match") == tag:
            return Reply(status=304, body=b"", headers={"ETag": tag})
        return Reply(body=body, content_type="application/rss+xml", headers={"ETag": tag})

    return handler


def test_second_refresh_revalidates_and_changes_nothing(
    http_server: LocalServer, profile: Profile
) -> None:
    state = {"body": rss("News", [("a", "Alpha"), ("b", "Beta")])}
    http_server.route("/feed.xml", _etag_handler(state))  # type: ignore[arg-type]
    _subscribe(profile, http_server.url("/feed.xml"))
    refresher = Refresher(profile.db, limits=FAST)

    first = refresher.refresh()
    second = refresher.refresh()

    assert (first.ok, first.new) == (1, 2)
    assert (second.not_modified, second.new, second.updated) == (1, 0, 0)
    assert http_server.last("/feed.xml").headers["if-none-match"].startswith('"')
    assert reading.stats(profile.db).articles == 2


def test_edited_entry_updates_in_place_and_stays_read(
    http_server: LocalServer, profile: Profile
) -> None:
    state = {"body": rss("News", [("a", "Alpha"), ("b", "Beta")])}
    http_server.route("/feed.xml", _etag_handler(state))  # type: ignore[arg-type]
    _subscribe(profile, http_server.url("/feed.xml"))
    refresher = Refresher(profile.db, limits=FAST)
    refresher.refresh()
    alpha = next(a for a in reading.latest(profile.db) if a.title == "Alpha")
    reading.set_read(profile.db, [alpha.id], True)

    state["body"] = rss("News", [("a", "Alpha, corrected"), ("b", "Beta")])
    summary = refresher.refresh()

    assert (summary.new, summary.updated) == (0, 1)
    edited = reading.article(profile.db, alpha.id)
    assert edited is not None
    assert edited.title == "Alpha, corrected"
    assert edited.read, "an edited entry must not come back unread"
    assert reading.stats(profile.db).articles == 2


def test_guid_reused_by_two_feeds_gives_two_articles_and_no_cross_talk(
    http_server: LocalServer, profile: Profile
) -> None:
    http_server.route("/one.xml", Reply(body=rss("One", [("same", "From one")])))
    http_server.route("/two.xml", Reply(body=rss("Two", [("same", "From two")])))
    http_server.route(
        "/dup.xml", Reply(body=rss("Dup", [("x", "First copy"), ("x", "Second copy")]))
    )
    _subscribe(
        profile,
        http_server.url("/one.xml"),
        http_server.url("/two.xml"),
        http_server.url("/dup.xml"),
    )
    summary = Refresher(profile.db, limits=FAST).refresh()
    titles = sorted(a.title for a in reading.latest(profile.db))
    assert summary.failed == 0
    assert {"From one", "From two"} <= set(titles)
    assert sum(t.endswith("copy") for t in titles) == 2, (
        "a GUID reused for another title in one feed is another article"
    )


def test_one_failing_feed_never_stops_the_batch(http_server: LocalServer, profile: Profile) -> None:
    http_server.route("/good.xml", Reply(body=rss("Good", [("g", "Good news")])))
    http_server.route(
        "/page.html",
        Reply(body=b"<!DOCTYPE html><html><body>Oops</body></html>", content_type="text/html"),
    )
    http_server.route("/gone.xml", Reply(status=500, body=b"boom"))
    http_server.route("/cut.xml", Reply(body=rss("Cut", [("c", "Cut short")])[:90]))
    http_server.route("/slow.xml", Reply(body=rss("Slow", [("s", "Slow")]), delay=3.0))
    ids = _subscribe(
        profile,
        http_server.url("/good.xml"),
        http_server.url("/page.html"),
        http_server.url("/gone.xml"),
        http_server.url("/cut.xml"),
        http_server.url("/slow.xml"),
    )
    progress: list[int] = []
    summary = Refresher(profile.db, limits=FAST).refresh(progress=lambda p: progress.append(p.done))

    assert (summary.ok, summary.failed) == (1, 4)
    assert progress == [1, 2, 3, 4, 5], "progress must reach n of n"
    messages = {f.url.rsplit("/", 1)[1]: f.message for f in summary.failures}
    assert "web page" in messages["page.html"]
    assert "500" in messages["gone.xml"]
    with profile.db.read() as s:
        records = {f.id: f for f in feeds.list_feeds(s)}
        assert records[ids[0]].error_count == 0
        for failed_id in ids[1:]:
            assert records[failed_id].error_count == 1
            assert records[failed_id].last_error
            assert records[failed_id].next_fetch is not None
        stored = articles.list_articles(s, limit=50)
    assert [a.title for a in stored] == ["Good news"]
    assert "<script" not in stored[0].summary_html


def test_retry_after_defers_the_next_fetch(http_server: LocalServer, profile: Profile) -> None:
    http_server.route("/busy.xml", Reply(status=503, body=b"", headers={"Retry-After": "7200"}))
    (feed_id,) = _subscribe(profile, http_server.url("/busy.xml"))
    before = datetime.now(UTC)
    summary = Refresher(profile.db, limits=FAST).refresh()
    assert summary.failed == 1
    with profile.db.read() as s:
        feed = feeds.get_feed(s, feed_id)
    assert feed is not None and feed.next_fetch is not None
    assert feed.next_fetch >= before + timedelta(seconds=7200)


def test_each_feeds_progress_says_how_its_fetch_went(
    http_server: LocalServer, profile: Profile
) -> None:
    state = {"body": rss("News", [("a", "Alpha"), ("b", "Beta")])}
    http_server.route("/feed.xml", _etag_handler(state))  # type: ignore[arg-type]
    http_server.route("/gone.xml", Reply(status=503, body=b"busy"))
    good, gone = _subscribe(profile, http_server.url("/feed.xml"), http_server.url("/gone.xml"))
    refresher = Refresher(profile.db, limits=FAST)
    seen: list[RefreshProgress] = []

    refresher.refresh(progress=seen.append)
    first = {p.feed_id: p for p in seen}
    assert (first[good].status, first[good].http_status) == ("ok", 200)
    assert (first[good].new, first[good].updated, first[good].error) == (2, 0, None)
    assert first[good].seconds > 0 and first[good].at is not None
    assert (first[gone].status, first[gone].http_status) == ("failed", 503)
    assert "503" in str(first[gone].error)

    seen.clear()
    refresher.refresh([good], progress=seen.append)
    assert (seen[0].status, seen[0].http_status, seen[0].new) == ("not modified", 304, 0)

    seen.clear()
    state["body"] = rss("News", [("a", "Alpha"), ("b", "Beta, corrected"), ("c", "Gamma")])
    refresher.refresh([good], progress=seen.append)
    assert (seen[0].status, seen[0].new, seen[0].updated) == ("ok", 1, 1)
