"""Fetch full article: through the hardened fetcher from a local server, stored, shown offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.services import fulltext, reading
from app.services.profile import Profile
from app.services.refresh import Refresher
from harness.pagegen import build_page, split_article
from harness.server import LocalServer, Reply
from tests.e2e.feedgen import rss
from tests.unit.feeds.test_extractor import OTHERS, STORY


@pytest.fixture
def site(http_server: LocalServer) -> LocalServer:
    title, paragraphs = split_article(STORY)
    page = build_page(0, title, paragraphs, OTHERS)
    http_server.route(
        "/p/g0", Reply(body=page.html.encode(), content_type="text/html; charset=utf-8")
    )
    http_server.route("/p/g1", Reply(status=302, headers={"Location": "file:///etc/passwd"}))
    http_server.route("/p/g2", Reply(body=b"<p>Subscribe</p>", content_type="text/html"))
    items = [("g0", "Harbour wall"), ("g1", "Redirected"), ("g2", "Teaser"), ("g3", "Gone")]
    http_server.route("/feed.xml", Reply(body=rss("Harbour", items, link=http_server.url("/p/"))))
    return http_server


def _ids(data_dir: Path, site: LocalServer) -> dict[str, int]:
    with Profile(data_dir) as profile:
        from app.services import subscription

        subscription.add_feed(profile.db, site.url("/feed.xml"))
        Refresher(profile.db).refresh()
        return {a.title: a.id for a in reading.latest(profile.db)}


def test_fulltext_json_fetches_stores_and_reads_offline(
    site: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _ids(tmp_path, site)
    code = main(["--data-dir", str(tmp_path), "fulltext", str(ids["Harbour wall"]), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"article_id", "text", "html"}
    assert data["article_id"] == ids["Harbour wall"]
    assert "northern breakwater" in data["text"] and "ad blocker" not in data["text"]
    assert "<script" not in data["html"]
    assert site.count("/p/g0") == 1
    with Profile(tmp_path) as profile:  # offline afterwards: no new request
        kept = fulltext.stored(profile.db, ids["Harbour wall"])
    assert kept is not None and kept.html == data["html"]
    assert site.count("/p/g0") == 1


@pytest.mark.parametrize(
    ("title", "message"),
    [("Redirected", "non-web address"), ("Teaser", "no full text"), ("Gone", "404")],
)
def test_fulltext_failures_are_one_line_and_store_nothing(
    site: LocalServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    title: str,
    message: str,
) -> None:
    ids = _ids(tmp_path, site)
    code = main(["--data-dir", str(tmp_path), "fulltext", str(ids[title])])
    err = capsys.readouterr().err
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    with Profile(tmp_path) as profile:
        assert fulltext.stored(profile.db, ids[title]) is None


def test_always_fetch_full_text_fetches_new_articles(site: LocalServer, tmp_path: Path) -> None:
    ids = _ids(tmp_path, site)
    with Profile(tmp_path) as profile:
        assert fulltext.fetch_missing(profile.db) == 0  # the option is off
        feed_id = reading.subscriptions(profile.db)[0].id
        fulltext.set_feed_option(profile.db, feed_id, True)
        assert fulltext.feed_option(profile.db, feed_id)
        assert fulltext.fetch_missing(profile.db) == 1  # only the real article has a story
        assert fulltext.stored(profile.db, ids["Harbour wall"]) is not None
        assert fulltext.fetch_missing(profile.db) == 0 or site.count("/p/g0") == 1
