"""A parsed feed as plain tuples, to cross from a parser process to the refresher.

Pickling a ParsedFeed pickles every entry as an object (its class, then its fields by name);
its tuples pickle in less than half the time. The refresher's process is bound to one core by
the interpreter's lock, so the parser processes send tuples and the refresher rebuilds the
dataclasses, which costs it no more than unpickling them did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.feeds.enclosure import FeedEnclosure
from app.feeds.entry import ParsedEntry, ParsedFeed
from app.feeds.parser import parse_feed

_FlatEntry = tuple[
    str,
    str | None,
    str,
    str,
    str,
    str | None,
    datetime | None,
    tuple[tuple[str, str | None, int | None], ...],
]
_Flat = tuple[str, str | None, tuple[str, ...], list[_FlatEntry]]
"""A ParsedFeed as plain tuples: what a parser process sends back (see :func:`parse_flat`)."""


def parse_flat(body: bytes, headers: Mapping[str, str], url: str) -> _Flat:
    """:func:`parse_feed` in a parser process, its result as plain tuples: pickling 50 entry
    dataclasses cost the parser about 0.35 ms a feed, their tuples 0.14 ms, and unpickling and
    rebuilding them costs the refresher no more than unpickling the dataclasses did."""
    parsed = parse_feed(body, headers, url)
    entries = [
        (e.dedup_key, e.url, e.title, e.summary_html, e.summary_text, e.author, e.published,
         tuple((a.url, a.type, a.length) for a in e.enclosures))
        for e in parsed.entries
    ]  # fmt: skip
    return parsed.title, parsed.site_url, parsed.warnings, entries


def unflatten(flat: _Flat) -> ParsedFeed:
    """The ParsedFeed that :func:`parse_flat` sent as tuples."""
    title, site_url, warnings, entries = flat
    return ParsedFeed(
        title,
        site_url,
        tuple(
            ParsedEntry(key, url, name, html, text, author, published,
                        tuple(FeedEnclosure(*a) for a in attached))
            for key, url, name, html, text, author, published, attached in entries
        ),
        warnings,
    )  # fmt: skip
