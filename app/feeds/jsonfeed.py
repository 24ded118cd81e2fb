"""Read JSON Feed (https://jsonfeed.org, versions 1 and 1.1) into a ParsedFeed."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from app.feeds import enclosure
from app.feeds.entry import ParsedFeed, ParseError, RawEntry, make_feed

logger = logging.getLogger(__name__)

_JSON_TYPES = frozenset({"application/feed+json", "application/json", "text/json"})


def looks_like_json(body: bytes, content_type: str) -> bool:
    """Whether the body should be read as JSON rather than XML."""
    if content_type.lower().split(";")[0].strip() in _JSON_TYPES:
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _text(value: Any) -> str:
    """Return ``value`` as a string when it is a string or a number, else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _date(value: Any) -> datetime | None:
    """Parse an RFC 3339 date, or return None."""
    text = _text(value).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _author(item: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    """Return the first author name of an item (falling back to the feed's)."""
    for source in (item, feed):
        authors = source.get("authors")
        candidates = authors if isinstance(authors, list) else [source.get("author")]
        for author in candidates:
            if isinstance(author, Mapping) and _text(author.get("name")).strip():
                return _text(author.get("name"))
    return None


def _raw_entries(items: list[Any], feed: Mapping[str, Any]) -> Iterator[RawEntry]:
    """Translate JSON Feed items into RawEntry values."""
    for item in items:
        if not isinstance(item, Mapping):
            continue
        body = _text(item.get("content_html"))
        if not body.strip():
            plain = _text(item.get("content_text")) or _text(item.get("summary"))
            body = html.escape(plain, quote=False).replace("\n", "<br>")
        published = _date(item.get("date_published")) or _date(item.get("date_modified"))
        yield RawEntry(
            guid=_text(item.get("id")) or None,
            link=_text(item.get("url")) or _text(item.get("external_url")) or None,
            title=_text(item.get("title")),
            title_is_html=False,
            html=body,
            author=_author(item, feed),
            published=published,
            date_text=_text(item.get("date_published")) or _text(item.get("date_modified")) or None,
            enclosures=enclosure.from_json_feed(item),
        )


def parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    """Parse a JSON Feed document; raise ParseError when it is not one."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError("the feed is not valid JSON") from exc
    if not isinstance(document, Mapping):
        raise ParseError("the address did not return a feed")
    version = _text(document.get("version"))
    items = document.get("items")
    if "jsonfeed.org" not in version or not isinstance(items, list):
        raise ParseError("the address did not return a feed")
    warnings = []
    feed_url = _text(document.get("feed_url"))
    if not version.startswith("https://jsonfeed.org/version/"):
        warnings.append(f"unknown JSON Feed version {version[:80]!r}")
    logger.debug("JSON Feed with %d items (declared at %s)", len(items), feed_url[:200])
    return make_feed(
        title=html.escape(_text(document.get("title")), quote=False),
        site_url=_text(document.get("home_page_url")) or None,
        raws=_raw_entries(items, document),
        base_url=base_url,
        warnings=warnings,
    )
