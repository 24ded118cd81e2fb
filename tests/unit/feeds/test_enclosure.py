"""Enclosures and JSON Feed attachments: kept with type and size, hostile values dropped."""

from __future__ import annotations

import json

import pytest

from app.feeds.enclosure import MAX_ENCLOSURES, FeedEnclosure, clean
from app.feeds.parser import parse_feed

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Pod</title>
<item><guid>e1</guid><title>Episode 1</title><link>https://pod.example/e1</link>
<enclosure url="https://cdn.example/e1.mp3" type="audio/mpeg" length="12345678"/></item>
<item><guid>e2</guid><title>Episode 2</title><link>https://pod.example/e2</link>
<enclosure url="/media/e2.ogg" type="Audio/Ogg" length="-4"/></item>
<item><guid>e3</guid><title>Episode 3</title>
<enclosure url="javascript:alert(1)" type="audio/mpeg" length="1"/></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>a1</id><title>Video</title><link href="https://v.example/a1"/>
<link rel="enclosure" href="https://v.example/a1.mp4" type="video/mp4" length="99"/>
</entry></feed>"""


def _entries(body: bytes, content_type: str = "application/rss+xml") -> list[object]:
    return list(
        parse_feed(body, {"content-type": content_type}, "https://pod.example/feed").entries
    )


def test_rss_enclosures_are_kept_safe_and_absolute() -> None:
    e1, e2, e3 = _entries(RSS)
    assert e1.enclosures == (FeedEnclosure("https://cdn.example/e1.mp3", "audio/mpeg", 12345678),)  # type: ignore[attr-defined]
    assert e2.enclosures == (FeedEnclosure("https://pod.example/media/e2.ogg", "audio/ogg", None),)  # type: ignore[attr-defined]
    assert e3.enclosures == ()  # type: ignore[attr-defined]


def test_atom_enclosure_links() -> None:
    [entry] = _entries(ATOM, "application/atom+xml")
    assert entry.enclosures == (FeedEnclosure("https://v.example/a1.mp4", "video/mp4", 99),)  # type: ignore[attr-defined]


def test_json_feed_attachments() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "1",
                "url": "https://j.example/1",
                "title": "One",
                "content_text": "Hello",
                "attachments": [
                    {
                        "url": "https://j.example/1.m4a",
                        "mime_type": "audio/x-m4a",
                        "size_in_bytes": 5,
                    },
                    {"url": "file:///etc/passwd", "mime_type": "text/plain"},
                    {"url": 7},
                    "not an object",
                ],
            }
        ],
    }
    body = json.dumps(doc).encode()
    [entry] = _entries(body, "application/feed+json")
    assert entry.enclosures == (FeedEnclosure("https://j.example/1.m4a", "audio/x-m4a", 5),)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (("https://x.example/a", "audio/mpeg\n<script>", "10"), ("https://x.example/a", None, 10)),
        (("https://x.example/a", None, 2**70), ("https://x.example/a", None, None)),
        (("https://x.example/a", "audio/mpeg", True), ("https://x.example/a", "audio/mpeg", None)),
        (("  ", "audio/mpeg", 1), None),
        (("data:audio/mpeg;base64,AAAA", "audio/mpeg", 1), None),
    ],
)
def test_hostile_values(
    raw: tuple[object, object, object], expected: tuple[object, ...] | None
) -> None:
    kept = clean([raw], "https://x.example/")
    assert kept == (() if expected is None else (FeedEnclosure(*expected),))  # type: ignore[arg-type]


def test_at_most_twenty_and_no_repeats() -> None:
    raw = [(f"https://x.example/{i % 30}", None, None) for i in range(100)]
    kept = clean(raw, None)
    assert len(kept) == MAX_ENCLOSURES and len({k.url for k in kept}) == MAX_ENCLOSURES
