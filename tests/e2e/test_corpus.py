"""Serve every file of the shared feed corpus over local HTTP; fetch and parse each one."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

from app.feeds.entry import ParsedFeed, ParseError
from app.feeds.fetcher import Fetcher, FetchError, FetchLimits
from app.feeds.parser import parse_feed
from harness.server import LocalServer, Reply, Request
from tests.unit.feeds.hostile import problems, text_problems

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds"
_TYPES = {".json": "application/json", ".opml": "text/x-opml", ".html": "text/html"}


def _content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower(), "application/xml")


def _file_reply(path: Path) -> Reply:
    return Reply(body=path.read_bytes(), content_type=_content_type(path))


def _outcome(fetcher: Fetcher, url: str) -> tuple[str, ParsedFeed | str]:
    try:
        result = fetcher.fetch(url)
        return "ok", parse_feed(result.body or b"", result.headers, result.url)
    except ParseError as exc:
        return "parse_error", exc.message
    except FetchError as exc:
        return "fetch_error", exc.message


@pytest.mark.slow
@pytest.mark.shared_data
def test_whole_corpus_fetches_and_parses(http_server: LocalServer) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/data is absent")
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    assert len(files) > 3000
    urls: dict[str, Path] = {}
    for path in files:
        route = "/" + quote(path.relative_to(CORPUS).as_posix())
        urls[http_server.url(route)] = path

        def handler(_request: Request, path: Path = path) -> Reply:
            return _file_reply(path)

        http_server.route(route, handler)

    start = time.monotonic()
    with Fetcher(FetchLimits(total_timeout=30.0)) as fetcher, ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda url: (url, *_outcome(fetcher, url)), urls))
    elapsed = time.monotonic() - start

    counts: Counter[str] = Counter()
    entries = 0
    hostile: list[str] = []
    fetch_errors: list[str] = []
    for url, kind, value in outcomes:
        counts[kind] += 1
        if kind == "fetch_error":
            fetch_errors.append(f"{urls[url].name}: {value}")
        if not isinstance(value, ParsedFeed):
            continue
        entries += len(value.entries)
        found = text_problems(value.title)
        for entry in value.entries:
            found += problems(entry.summary_html) + text_problems(entry.title)
        hostile.extend(f"{urls[url]}: {p}" for p in found)
    print(
        f"\ncorpus: {len(files)} files in {elapsed:.1f} s: {counts['ok']} feeds, "
        f"{counts['parse_error']} parse errors, {counts['fetch_error']} fetch errors, "
        f"{entries} entries"
    )
    assert len(outcomes) == len(files)
    assert hostile == []
    assert fetch_errors == []  # every file is served within the limits
    refused_real_feeds = [
        str(urls[url].relative_to(CORPUS))
        for url, kind, _ in outcomes
        if kind != "ok" and _is_real_feed(urls[url])
    ]
    assert refused_real_feeds == []


# Folders of whole feeds captured from real sites, and the files in them that are not feeds.
_REAL_FEED_DIRS = (
    "rss-parser/test/input",
    "gesab001-headlines/HEAD",
    "miniflux/internal/reader/parser/testdata",
    "RSParser/Tests/RSParserTests/Resources",
    "feed-rs/feed-rs/fixture",
)
_NOT_FEEDS = frozenset(
    {
        "unrecognized.rss",  # an IIS "Document Moved" page
        "animatedstoriesfromthebible.xml",  # a Google 404 page
        "popularparablesofjesus.xml",  # a Google 404 page
        "ScriptingNews.json",  # RSS transcribed into JSON, not JSON Feed
        "allthis-partial.json",  # a truncated JSON document
        "rss_2.0_invalid_1.xml",  # cut off before its first item
        "xml_sample_1.xml",  # XML, not a feed
        "xml_sample_2.xml",
    }
)
_FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".json"})


def _is_real_feed(path: Path) -> bool:
    relative = path.relative_to(CORPUS).as_posix()
    return (
        relative.startswith(_REAL_FEED_DIRS)
        and path.suffix in _FEED_SUFFIXES
        and not path.name.endswith(".serde.json")
        and path.name not in _NOT_FEEDS
    )
