"""Plain data produced by the feed parser: one parsed feed and its entries."""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.feeds.enclosure import FeedEnclosure, RawEnclosure
from app.feeds.enclosure import clean as clean_enclosures
from app.feeds.sanitizer import (
    TITLE_MAX_CHARS,
    clean_title,
    html_to_text,
    plain_line,
    safe_url,
    sanitize_html,
    strip_invisible,
    truncate_words,
)
from app.storage.error import HeedfulError


class ParseError(HeedfulError):
    """The bytes are not a readable feed (empty, a web page, cut off with no entries).

    ``message`` is one sentence fit to show the reader.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry, normalised.

    ``summary_html`` is already sanitised; ``summary_text`` is its plain text.
    ``published`` is timezone-aware UTC, or None when the entry has no usable date
    (none given, unparsable, or more than a day in the future).
    """

    dedup_key: str
    url: str | None
    title: str
    summary_html: str
    summary_text: str
    author: str | None
    published: datetime | None
    enclosures: tuple[FeedEnclosure, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title, its web site, its entries in document order and
    the problems met while reading it (a malformed but readable feed has warnings)."""

    title: str
    site_url: str | None
    entries: tuple[ParsedEntry, ...]
    warnings: tuple[str, ...]


def dedup_key(guid: str | None, link: str | None, title: str, date: str | None) -> str:
    """Return the stable identity of an entry within its feed (sha256 hex).

    The GUID wins, else the link, else the title with the raw date string, so an
    entry edited in place keeps its key.
    """
    if guid and guid.strip():
        source = "guid:" + guid.strip()
    elif link and link.strip():
        source = "link:" + link.strip()
    else:
        source = "title:" + title + "|" + (date or "")
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def fallback_key(shared: str, link: str | None, title: str, date: str | None) -> str:
    """The identity of an entry whose usual key (``shared``) another entry of the same fetch
    has too: that key with the link, the title and the raw date, so that 40 items pointing at
    one link stay 40 articles while a true repeat (all three the same) is still one."""
    source = f"shared:{shared}|link:{link or ''}|title:{title}|date:{date or ''}"
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


MAX_ENTRIES = 2000
SUMMARY_TEXT_MAX_CHARS = 2000
HTML_MAX_CHARS = 512 * 1024
AUTHOR_MAX_CHARS = 200
FUTURE_TOLERANCE = timedelta(days=1)
UNTITLED = "(untitled)"
_LINK_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class RawEntry:
    """An entry as a format reader found it, before normalisation.

    ``html`` is untrusted HTML (plain text must be escaped by the reader);
    ``title_is_html`` says whether tags in ``title`` are markup or literal text.
    """

    guid: str | None
    link: str | None
    title: str
    title_is_html: bool
    html: str
    author: str | None
    published: datetime | None
    date_text: str | None
    enclosures: tuple[RawEnclosure, ...] = ()


def make_entry(raw: RawEntry, base_url: str | None, now: datetime) -> ParsedEntry:
    """Normalise one raw entry: safe absolute link, plain-text title (taken from the
    summary when missing), sanitised HTML, aware-UTC date (None when in the future)."""
    url = safe_url(raw.link, base_url, _LINK_SCHEMES) if raw.link else None
    summary_html = sanitize_html(raw.html[:HTML_MAX_CHARS], url or base_url)
    summary_text = truncate_words(html_to_text(summary_html), SUMMARY_TEXT_MAX_CHARS)
    if raw.title_is_html:
        title = clean_title(raw.title)
    else:
        title = truncate_words(plain_line(strip_invisible(raw.title)), TITLE_MAX_CHARS)
    key_title = title
    if not title:
        title = truncate_words(strip_invisible(summary_text), 80) if summary_text else UNTITLED
        key_title = title if summary_text else ""
    author = " ".join(html_to_text(raw.author).split()) if raw.author else ""
    published = raw.published
    if published is not None:
        published = published.astimezone(UTC) if published.tzinfo else published.replace(tzinfo=UTC)
        if published > now + FUTURE_TOLERANCE:
            published = None
    return ParsedEntry(
        dedup_key=dedup_key(raw.guid, raw.link and (url or raw.link), key_title, raw.date_text),
        url=url,
        title=title,
        summary_html=summary_html,
        summary_text=summary_text,
        author=truncate_words(author, AUTHOR_MAX_CHARS) or None,
        enclosures=clean_enclosures(raw.enclosures, url or base_url),
        published=published,
    )


def _split_shared(made: list[tuple[ParsedEntry, str | None]]) -> list[ParsedEntry]:
    """The entries in document order, those that share a key but are not the same item
    re-keyed by :func:`fallback_key` (all but the oldest of each group)."""
    groups: dict[str, list[int]] = {}
    for i, (entry, _) in enumerate(made):
        groups.setdefault(entry.dedup_key, []).append(i)
    entries = [entry for entry, _ in made]
    for key, members in groups.items():
        if len(members) < 2:
            continue
        faces = {(made[i][0].url, made[i][0].title, made[i][1]) for i in members}
        if len(faces) < 2:
            continue  # the same item repeated: one article
        # The oldest keeps the key (feeds list newest first: the last when undated).
        keeper = min(
            reversed(members),
            key=lambda i: made[i][0].published or datetime.max.replace(tzinfo=UTC),
        )
        keeper_face = (made[keeper][0].url, made[keeper][0].title, made[keeper][1])
        for i in members:
            entry, date_text = made[i]
            if i == keeper or (entry.url, entry.title, date_text) == keeper_face:
                continue
            fresh = fallback_key(key, entry.url, entry.title, date_text)
            entries[i] = dataclasses.replace(entry, dedup_key=fresh)
    return entries


def make_feed(
    title: str,
    site_url: str | None,
    raws: Iterable[RawEntry],
    base_url: str | None,
    warnings: Iterable[str] = (),
) -> ParsedFeed:
    """Build a ParsedFeed: at most ``MAX_ENTRIES`` entries (the first ones), one
    entry per identity, and a warning for everything dropped.

    Entries that share a key (the same GUID, or the same link without one) but differ in
    link, title or date are different items (real feeds reuse GUIDs for new posts): the
    oldest keeps the key (it is the one stored when it was alone), the others get
    :func:`fallback_key`. Only true repeats are dropped, and counted in a warning.
    """
    notes = list(warnings)
    now = datetime.now(UTC)
    site = safe_url(site_url, base_url, _LINK_SCHEMES) if site_url else None
    made: list[tuple[ParsedEntry, str | None]] = []
    total = 0
    for raw in raws:
        total += 1
        if len(made) < MAX_ENTRIES:
            made.append((make_entry(raw, site or base_url, now), raw.date_text))
    entries: list[ParsedEntry] = []
    seen: set[str] = set()
    duplicates = 0
    for entry in _split_shared(made):
        if entry.dedup_key in seen:
            duplicates += 1
            continue
        seen.add(entry.dedup_key)
        entries.append(entry)
    if total > len(made):
        notes.append(f"the feed has {total} entries; only the first {MAX_ENTRIES} were kept")
    if duplicates:
        notes.append(f"{duplicates} entries repeated an earlier entry's identity and were skipped")
    feed_title = clean_title(title) if title else ""
    if not feed_title:
        feed_title = urlsplit(site or base_url or "").hostname or UNTITLED
    return ParsedFeed(
        title=feed_title, site_url=site, entries=tuple(entries), warnings=tuple(notes)
    )


def struct_to_datetime(value: Any) -> datetime | None:
    """Convert feedparser's UTC struct_time to an aware datetime (None if invalid)."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None
