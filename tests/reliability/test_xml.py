"""XML attacks on the parser and the OPML reader: nothing expands, nothing local is read,
nothing remote is fetched."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.feeds.entry import ParseError
from app.feeds.opml import OpmlError, read_opml
from app.feeds.parser import parse_feed
from harness.hostile import MARKER
from harness.server import LocalServer, Reply

_LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY a0 "lol">'
    + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 12))
    + "]>"
)


def _rss(title: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>{title}</title>'
        f"<item><guid>1</guid><title>{title}</title><description>{title}</description>"
        "</item></channel></rss>"
    ).encode()


def _all_text(body: bytes) -> str:
    try:
        feed = parse_feed(body, {"content-type": "application/rss+xml"}, "http://127.0.0.1/f")
    except ParseError:
        return ""
    parts = [feed.title]
    for e in feed.entries:
        parts += [e.title, e.summary_html, e.summary_text, e.url or "", e.author or ""]
    return "\n".join(parts)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def test_billion_laughs_is_not_expanded() -> None:
    started = time.monotonic()
    text = _all_text(_rss("&a11;", _LAUGHS))
    assert time.monotonic() - started < 5
    assert "lollollol" not in text
    assert len(text) < 10_000


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE rss [<!ENTITY x SYSTEM "{uri}">]>',
        '<!DOCTYPE rss [<!ENTITY x PUBLIC "-//x//EN" "{uri}">]>',
        '<!DOCTYPE rss [<!ENTITY % p SYSTEM "{uri}"> %p;]>',
        '<!DOCTYPE rss SYSTEM "{uri}">',
    ],
)
def test_external_entities_never_read_local_files(secret: Path, prolog: str) -> None:
    body = _rss("got &x;", prolog.format(uri=secret.resolve().as_uri()))
    assert MARKER not in _all_text(body)
    body = _rss("got &x;", prolog.format(uri=str(secret.resolve())))
    assert MARKER not in _all_text(body)


def test_external_dtd_and_entities_are_never_fetched(feed_server: LocalServer) -> None:
    feed_server.route("/evil.dtd", Reply(body=f'<!ENTITY x "{MARKER}">'.encode()))
    feed_server.route("/evil.txt", Reply(body=MARKER.encode(), content_type="text/plain"))
    dtd, txt = feed_server.url("/evil.dtd"), feed_server.url("/evil.txt")
    for prolog in (
        f'<!DOCTYPE rss SYSTEM "{dtd}">',
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{txt}">]>',
        f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{dtd}"> %p;]>',
    ):
        assert MARKER not in _all_text(_rss("got &x;", prolog))
    assert feed_server.count("/evil.dtd") == 0
    assert feed_server.count("/evil.txt") == 0


def _opml(outline: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{prolog}<opml version="2.0"><head><title>t</title></head>'
        f"<body>{outline}</body></opml>"
    ).encode()


def test_opml_entities_neither_expand_nor_read_files(secret: Path) -> None:
    outline = '<outline text="&a11;" xmlUrl="https://example.org/feed.xml"/>'
    started = time.monotonic()
    try:
        result = read_opml(_opml(outline, _LAUGHS))
    except OpmlError:
        result = None
    assert time.monotonic() - started < 5
    if result is not None:
        assert all("lollollol" not in (f.title or "") for f in result.feeds)
    xxe = f'<!DOCTYPE opml [<!ENTITY x SYSTEM "{secret.resolve().as_uri()}">]>'
    outline = '<outline text="&x;" xmlUrl="https://example.org/&x;.xml"/>'
    try:
        result = read_opml(_opml(outline, xxe))
    except OpmlError:
        return
    for feed in result.feeds:
        assert MARKER not in f"{feed.url} {feed.title} {feed.folder} {feed.site_url}"
