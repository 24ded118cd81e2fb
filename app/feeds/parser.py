"""Turn the bytes of an RSS, Atom, RDF or JSON feed into a ParsedFeed.

feedparser only ever receives the bytes (wrapped in a stream) and the response
headers, never a URL or a path: given a string it would fetch or open it itself,
and given bytes that look like a path it would read that file. Its own sanitiser
is off; ours runs last on every entry.

Entities: declarations that refer to other entities (the billion-laughs shape) are
dropped here before parsing, in any encoding; feedparser then drops every
declaration but plain-text ones, so external entities (SYSTEM "file:...") are
never read; expat's amplification limit remains as a last guard.
"""

from __future__ import annotations

import codecs
import html
import io
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import feedparser

from app.feeds import enclosure, shortcut
from app.feeds.entry import ParsedFeed, ParseError, RawEntry, make_feed, struct_to_datetime
from app.feeds.jsonfeed import looks_like_json, parse_json_feed

logger = logging.getLogger(__name__)

_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_WEB_PAGE = "the address returned a web page, not a feed"
_WIDE_STARTS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_FIRST_ELEMENT_RE = re.compile(rb"<[A-Za-z_]")
_FIRST_ELEMENT_TEXT_RE = re.compile(r"<[A-Za-z_]")
_NESTED_ENTITY_RE = re.compile(rb"<!ENTITY\s+(?:%\s*[^>]*|[^>]*?[&%][^>]*)>", re.IGNORECASE)
_NESTED_ENTITY_TEXT_RE = re.compile(r"<!ENTITY\s+(?:%\s*[^>]*|[^>]*?[&%][^>]*)>", re.IGNORECASE)
_TRUNCATED = ("no element found", "unclosed token", "unclosed cdata", "partial character")


def _is_wide(body: bytes, content_type: str) -> bool:
    """Whether the body is UTF-16 or UTF-32, where NUL bytes are legitimate."""
    charset = content_type.lower().partition("charset=")[2]
    return _wide_codec(body) is not None or "16" in charset or "32" in charset


def _wide_codec(body: bytes) -> str | None:
    """The UTF-16/UTF-32 codec a body starts in (by BOM or by its first '<'), if any."""
    if body.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for prefix, codec in _WIDE_STARTS:
        if body.startswith(prefix):
            return codec
    return None


def _defuse_entities(body: bytes) -> bytes:
    """Drop DTD entity declarations that refer to other entities (or are parameter
    entities) from the prolog, so nested expansion never starts. expat would stop a
    billion-laughs document anyway, but only after megabytes of expansion."""
    codec = _wide_codec(body)
    if codec is None:
        start = _FIRST_ELEMENT_RE.search(body)
        end = start.start() if start else len(body)
        if b"<!ENTITY" not in body[:end].upper():
            return body
        return _NESTED_ENTITY_RE.sub(b"", body[:end]) + body[end:]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        return body
    start_text = _FIRST_ELEMENT_TEXT_RE.search(text)
    end_text = start_text.start() if start_text else len(text)
    if "<!ENTITY" not in text[:end_text].upper():
        return body
    head = _NESTED_ENTITY_TEXT_RE.sub("", text[:end_text])
    return (head + text[end_text:]).encode(codec)


def _looks_like_html(body: bytes, content_type: str) -> bool:
    """Whether the body is a web page rather than a feed."""
    if content_type.lower().split(";")[0].strip() == "text/html":
        return True
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:256]


def _text(value: Any) -> str:
    """Return ``value`` if it is a string, else the empty string."""
    return value if isinstance(value, str) else ""


def _entry_html(entry: Mapping[str, Any]) -> str:
    """Return the richest HTML body of an entry: its content, else its summary."""
    candidates: list[Mapping[str, Any]] = []
    content = entry.get("content")
    if isinstance(content, list):
        candidates.extend(c for c in content if isinstance(c, Mapping))
    detail = entry.get("summary_detail")
    if isinstance(detail, Mapping):
        candidates.append(detail)
    for candidate in candidates:
        value = _text(candidate.get("value"))
        if not value.strip():
            continue
        if _text(candidate.get("type")).lower() in _HTML_TYPES:
            return value
        return html.escape(value, quote=False).replace("\n", "<br>")
    return html.escape(_text(entry.get("summary")), quote=False)


def _raw_entries(entries: list[Any]) -> Iterator[RawEntry]:
    """Translate feedparser's entry dicts into RawEntry values."""
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        detail = entry.get("title_detail")
        title_type = _text(detail.get("type")) if isinstance(detail, Mapping) else ""
        published = struct_to_datetime(entry.get("published_parsed"))
        if published is None:
            published = struct_to_datetime(entry.get("updated_parsed"))
        yield RawEntry(
            guid=_text(entry.get("id")) or None,
            link=_text(entry.get("link")) or None,
            title=_text(entry.get("title")),
            title_is_html=title_type.lower() != "text/plain",
            html=_entry_html(entry),
            author=_text(entry.get("author")) or None,
            published=published,
            date_text=_text(entry.get("published")) or _text(entry.get("updated")) or None,
            enclosures=enclosure.from_feedparser(entry),
        )


def parse_feed(body: bytes, headers: Mapping[str, str], base_url: str) -> ParsedFeed:
    """Parse a feed body as served with ``headers`` (lower-cased keys) from ``base_url``.

    Lenient like feedparser: a malformed but readable feed comes back with warnings.
    Raises ParseError when the body is empty, is a web page, or yields no entries
    because it is unreadable or cut off.
    """
    headers = {key.lower(): value for key, value in headers.items()}
    content_type = headers.get("content-type", "")
    if not body or not body.strip():
        raise ParseError("the address returned an empty document")
    if not _is_wide(body, content_type):
        body = body.replace(b"\x00", b"")
    if looks_like_json(body, content_type):
        return parse_json_feed(body, base_url)
    plain = shortcut.read(body, content_type, base_url)
    if plain is not None:
        title, site_url, raws = plain
        return make_feed(title=title, site_url=site_url, raws=raws, base_url=base_url)
    body = _defuse_entities(body)
    response_headers = {"content-type": content_type, "content-location": base_url}
    if "content-language" in headers:
        response_headers["content-language"] = headers["content-language"]
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=True,
        )
    except Exception as exc:  # feedparser must never take the refresh down
        logger.warning("feedparser failed on %d bytes from a feed: %r", len(body), exc)
        raise ParseError("the feed could not be read") from exc
    entries = result.get("entries") or []
    bozo = result.get("bozo_exception") if result.get("bozo") else None
    feed = result.get("feed") or {}
    if not entries:
        if _looks_like_html(body, content_type):
            raise ParseError(_WEB_PAGE)
        if bozo is not None and not _empty_but_readable(bozo, feed):
            raise ParseError(f"the feed could not be read ({_describe(bozo)})")
        if not result.get("version"):
            raise ParseError("the address did not return a feed")
    warnings = []
    if bozo is not None:
        warnings.append(f"the feed is malformed: {_describe(bozo)}")
    return make_feed(
        title=_text(feed.get("title")),
        site_url=_text(feed.get("link")) or None,
        raws=_raw_entries(entries),
        base_url=base_url,
        warnings=warnings,
    )


def _empty_but_readable(bozo: object, feed: Mapping[str, Any]) -> bool:
    """Whether a malformed feed without entries is still a feed that is merely empty:
    a benign problem, or a complete document whose channel was read (a title or a link).
    A document cut off before its end is never taken for an empty feed."""
    if isinstance(bozo, _BENIGN_BOZO):
        return True
    message = str(bozo).lower()
    if any(marker in message for marker in _TRUNCATED):
        return False
    return bool(_text(feed.get("title")).strip() or _text(feed.get("link")).strip())


def _describe(exc: object) -> str:
    """One short line naming a parse problem."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
