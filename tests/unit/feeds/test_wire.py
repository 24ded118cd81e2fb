"""A parsed feed sent from a parser process as tuples is rebuilt equal to the parsed feed."""

from __future__ import annotations

import dataclasses
import pickle

from app.feeds.entry import ParsedEntry
from app.feeds.parser import parse_feed
from app.feeds.wire import parse_flat, unflatten

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Wire &amp; co</title><link>http://example.org/</link>
<item><title>With a file</title><link>/a</link><guid>urn:a</guid>
<pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate><dc:creator>Ann</dc:creator>
<description>&lt;p&gt;Text &lt;a href="/x"&gt;link&lt;/a&gt;&lt;/p&gt;</description>
<enclosure url="http://example.org/a.mp3" type="audio/mpeg" length="123"/>
<enclosure url="/b.ogg"/></item>
<item><title></title><description>No title, no date</description></item>
</channel></rss>"""

HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def test_rebuilt_feed_equals_parsed_feed() -> None:
    parsed = parse_feed(RSS, HEADERS, "http://example.org/feed")
    sent = pickle.loads(pickle.dumps(parse_flat(RSS, HEADERS, "http://example.org/feed")))
    rebuilt = unflatten(sent)
    assert rebuilt == parsed
    assert [len(e.enclosures) for e in rebuilt.entries] == [2, 0]
    assert rebuilt.entries[1].published is None


def test_every_entry_field_is_sent() -> None:
    """A field added to ParsedEntry must be added to the tuples too."""
    flat = parse_flat(RSS, HEADERS, "http://example.org/feed")
    assert len(flat[3][0]) == len(dataclasses.fields(ParsedEntry))
