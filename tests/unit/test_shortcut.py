"""The shortcut past feedparser reads a plain RSS 2.0 document into the same feed as feedparser,
and leaves every other document to feedparser."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from app.feeds import parser, sanitizer, shortcut
from app.feeds.entry import ParsedFeed, ParseError

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds"
BASE = "https://example.com/news/feed.xml"
RSS = "application/rss+xml"


def _both(
    body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[ParsedFeed, ParsedFeed | ParseError]:
    """The feed read with the shortcut, and as feedparser reads it."""
    quick = parser.parse_feed(body, {"content-type": content_type}, BASE)
    with monkeypatch.context() as patch:
        patch.setattr(shortcut, "read", lambda *args: None)
        try:
            slow: ParsedFeed | ParseError = parser.parse_feed(
                body, {"content-type": content_type}, BASE
            )
        except ParseError as exc:
            slow = exc
    return quick, slow


def _rss(
    items: str, *, channel: str = "<title>News</title><link>https://example.com/</link>"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


TITLES = ["Plain title", "  Café au lait  ", "CafÃ© mojibake", "\x93quoted\x94", ""]
LINKS = ["https://example.com/a?b=1", "/relative/path", "story.html", "  https://x.org/  "]
GUIDS = [
    "<guid>urn:uuid:1234</guid>",
    '<guid isPermaLink="false">tag-1</guid>',
    "<guid>/relative-guid</guid>",
    '<guid isPermaLink="true">https://example.com/p/1</guid>',
    "",
]
DATES = [
    "<pubDate>Tue, 14 Nov 2023 22:13:20 GMT</pubDate>",
    "<pubDate>Wed, 01 Feb 2023 08:00:00 +0200</pubDate>",
    "<pubDate>2024-01-02T03:04:05Z</pubDate>",
    "<pubDate>1 Jan 2020 10:00 EST</pubDate>",
    "<pubDate>not a date</pubDate>",
    "<pubDate>Mon, 31 Feb 2023 08:00:00 GMT</pubDate>",
    "",
]
DESCRIPTIONS = [
    "<description>&lt;p&gt;Body &lt;b&gt;bold&lt;/b&gt;.&lt;/p&gt;</description>",
    '<description>&lt;a href="/x"&gt;rel&lt;/a&gt; &lt;img src="i.png"&gt;</description>',
    '<description><![CDATA[<p>In <a href="../up">CDATA</a> &amp; more</p>]]></description>',
    "<description>a plain &amp; simple text\nover lines</description>",
    "<description>  </description>",
    "<!-- a comment --><description>x<!-- inside -->y</description>",
    "<description>&lt;p&gt;unclosed &lt;br&gt; tags &lt;i&gt;x &lt;BR/&gt;&lt;/P&gt;</description>",
    "<description>&amp;nbsp;&amp;copy; &amp;#169; &amp;bogus; a &amp;amp; b &amp;lt;</description>",
    "<description>&lt;script&gt;alert(1)&lt;/script&gt;&lt;style&gt;p{}&lt;/style&gt;ok</description>",
    "<description><![CDATA[<p>raw & <b>bold</p> <!-- c --> <hr/> < 3 >]]></description>",
    "<description>&lt;ul&gt;&lt;li&gt;one&lt;li&gt;two&lt;/ul&gt;&lt;table&gt;&lt;td&gt;x</description>",
    "<description>caf\u00e9 \u00c3\u00a9 \u0093q\u0094 &lt;em&gt;\u2014&lt;/em&gt;</description>",
    "",
]


def _cases() -> list[bytes]:
    cases = []
    for i, (title, link, guid, date, description) in enumerate(
        itertools.islice(
            zip(
                itertools.cycle(TITLES),
                itertools.cycle(LINKS),
                itertools.cycle(GUIDS),
                itertools.cycle(DATES),
                itertools.cycle(DESCRIPTIONS),
                strict=False,
            ),
            130,
        )
    ):
        item = f"<item><title>{title}</title><link>{link}</link>{guid}{date}{description}</item>"
        second = f"<item><title>Second {i}</title><link>https://example.com/{i}</link></item>"
        cases.append(_rss(item + second))
    return cases


@pytest.mark.parametrize("body", _cases())
def test_a_plain_rss_document_reads_as_feedparser_reads_it(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert shortcut.read(body, RSS, BASE) is not None, "the shortcut takes this document"
    quick, slow = _both(body, RSS, monkeypatch)
    assert quick == slow


def test_the_benchmark_feeds_read_as_feedparser_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.refresh import make_feed

    for index in (0, 7, 4999):
        body = make_feed(index, 50)
        assert shortcut.read(body, f"{RSS}; charset=utf-8", BASE) is not None
        quick, slow = _both(body, f"{RSS}; charset=utf-8", monkeypatch)
        assert quick == slow


def test_every_corpus_document_it_takes_reads_as_feedparser_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not CORPUS.is_dir():
        pytest.skip("the shared feed corpus is not here")
    taken = 0
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        for content_type in (RSS, "application/xml; charset=utf-8"):
            if shortcut.read(body, content_type, BASE) is None:
                continue
            taken += 1
            quick, slow = _both(body, content_type, monkeypatch)
            assert quick == slow, path
    assert taken >= 10, "the corpus's plain RSS documents go through the shortcut"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss version="2.0"><channel>'
            b"<item><title>&e;</title><link>https://a.b/</link></item></channel></rss>",
            RSS,
        ),
        (
            _rss(
                '<item xmlns:dc="http://purl.org/dc/elements/1.1/"><link>https://a.b/</link></item>'
            ),
            RSS,
        ),
        (_rss("<item><link>https://a.b/</link></item>"), "application/rss+xml; charset=iso-8859-1"),
        (_rss("<item><link>https://a.b/</link></item>"), "text/html"),
        (_rss("<item><link>https://a.b/</link></item>"), "text/xml"),
        (_rss("<item><title>No link</title></item>"), RSS),
        (_rss("<item><title>Tom &amp; Jerry</title><link>https://a.b/</link></item>"), RSS),
        (_rss("<item><title>A <b>bold</b> one</title><link>https://a.b/</link></item>"), RSS),
        (_rss("<item><author>me@example.com</author><link>https://a.b/</link></item>"), RSS),
        (_rss('<item><enclosure url="https://a.b/x.mp3"/><link>https://a.b/</link></item>'), RSS),
        (_rss(""), RSS),
        (_rss("<item><link>https://a.b/</link></item>").replace(b'"2.0"', b'"0.91"'), RSS),
        (
            b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><item>'
            b"<link>https://a.b/</link></item></channel></rss>",
            RSS,
        ),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title></feed>', RSS),
        (_rss("<item><link>https://a.b/</link></item>")[:-12], RSS),
    ],
)
def test_anything_else_is_left_to_feedparser(body: bytes, content_type: str) -> None:
    assert shortcut.read(body, content_type, BASE) is None


_ADDRESS_PIECES = (
    "http://", "https://", "HTTP://", "ftp://", "//", "example.com", "a.b.example", "x-y.org",
    ":8080", ":", "/", "//", "/a", "/b.html", "/.", "/..", "/...", "/%20", "/~u", "/a;p",
    "?q=1", "?", "#f", "#", "?x/y?z", " ", "\t", "\n", "@", "user@", "[::1]", "[", ".", "é",
    "\\", "/p!$'()*+,=:@-_", "a", "0", "urn:", "tag:", "mailto:", "Urn:", "http:", "HTTPS:",
    "javascript:", "1a:", ":x", "a,b",
)  # fmt: skip
_BASES = (
    BASE, "http://127.0.0.1:5000/feed/3.xml", "https://user:pw@host.example/a/b?c#d",
    "ftp://files.example/", "", "feed.xml", "http://[::1/broken", "HTTPS://EXAMPLE.COM/",
)  # fmt: skip


def _outcome(function: Callable[..., str | None], *args: object) -> str | None:
    """What ``function`` returns, or the name of the error it raises."""
    try:
        return function(*args)
    except ValueError as exc:
        return type(exc).__name__


@pytest.mark.parametrize("base", _BASES)
def test_plain_addresses_join_as_feedparser_joins_them(base: str) -> None:
    """The shortcut returns a plain absolute address as it is where feedparser's _urljoin
    returns it unchanged, and joins every other one: the two agree on random addresses."""
    import random

    from feedparser.urls import _urljoin

    rng = random.Random(base)
    join = shortcut._joiner(base)
    plain = 0
    for _ in range(3000):
        address = "".join(rng.choices(_ADDRESS_PIECES, k=rng.randint(1, 8)))
        if rng.random() < 0.5:
            address = rng.choice(("http://", "https://")) + "host.example" + address
        if sanitizer.PLAIN_ADDRESS.fullmatch(address) is not None:
            plain += 1
        assert join(address) == _urljoin(base, address), (base, address)
        for schemes in (frozenset({"http", "https"}), frozenset({"https", "mailto"})):
            checked = _outcome(sanitizer._checked_url, address, base or None, schemes)
            assert _outcome(sanitizer.safe_url, address, base or None, schemes) == checked
    assert plain > 100
