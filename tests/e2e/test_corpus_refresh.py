"""Refresh every file of the shared feed corpus into a real profile, as the app would.

No crash, no hang; every feed ends with articles or a recorded error; no stored title or
summary keeps active HTML.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from app.feeds.fetcher import FetchLimits
from app.services.profile import Profile
from app.services.refresh import Refresher
from app.storage import articles, feeds
from harness.server import LocalServer, Reply, Request
from tests.e2e.test_corpus import CORPUS, _file_reply
from tests.unit.feeds.hostile import problems, text_problems


@pytest.mark.slow
@pytest.mark.shared_data
def test_whole_corpus_refreshes_into_the_database(http_server: LocalServer, tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/data is absent")
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    with Profile(tmp_path / "profile") as profile:
        with profile.db.write() as s:
            for path in files:
                route = "/" + quote(path.relative_to(CORPUS).as_posix())

                def handler(_request: Request, path: Path = path) -> Reply:
                    return _file_reply(path)

                http_server.route(route, handler)
                feeds.add_feed(s, http_server.url(route))
        progress: list[int] = []
        summary = Refresher(profile.db, limits=FetchLimits(total_timeout=30.0)).refresh(
            progress=lambda p: progress.append(p.done)
        )
        with profile.db.read() as s:
            subscribed = feeds.list_feeds(s)
            stored = articles.list_articles(s, limit=1_000_000)
            stats = articles.stats(s)

    states = Counter(
        "articles" if f.total else "error" if f.last_error else "empty" for f in subscribed
    )
    print(
        f"\ncorpus refresh: {summary.feeds} feeds in {summary.seconds:.1f} s: {summary.ok} ok, "
        f"{summary.failed} failed, {summary.new} new articles ({stats.articles} stored); "
        f"feeds with articles {states['articles']}, with an error {states['error']}, "
        f"well-formed but empty {states['empty']}"
    )
    assert summary.feeds == len(files)
    assert progress[-1] == len(files), "progress must reach n of n"
    assert states["error"] == summary.failed, "every failed feed records its error"
    assert states["articles"] + states["empty"] == summary.ok
    hostile = [
        f"{a.id}: {p}" for a in stored for p in problems(a.summary_html) + text_problems(a.title)
    ]
    assert not hostile, hostile[:20]
    assert stats.articles > 5000
