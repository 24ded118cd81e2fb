"""Enclosures and JSON Feed attachments as a feed lists them: address, type, size.

Everything here is untrusted: only http(s) addresses are kept (made absolute against the
entry's link), a type must look like ``type/subtype``, a size must be a whole number of
bytes, and an entry keeps at most :data:`MAX_ENCLOSURES`. Nothing is ever downloaded here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.feeds.sanitizer import safe_url

MAX_ENCLOSURES = 20
_SCHEMES = frozenset({"http", "https"})
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_MAX_LENGTH = 2**63 - 1


@dataclass(frozen=True, slots=True)
class FeedEnclosure:
    """A file attached to an entry: absolute http(s) address, MIME type and size, if known."""

    url: str
    type: str | None = None
    length: int | None = None


RawEnclosure = tuple[Any, Any, Any]
"""(address, type, size) exactly as the feed gave them."""


def from_feedparser(entry: Mapping[str, Any]) -> tuple[RawEnclosure, ...]:
    """The raw enclosures of a feedparser entry (RSS ``<enclosure>``, Atom rel="enclosure")."""
    found = entry.get("enclosures")
    if not isinstance(found, list):
        return ()
    return tuple(
        (e.get("href") or e.get("url"), e.get("type"), e.get("length"))
        for e in found[: MAX_ENCLOSURES * 2]
        if isinstance(e, Mapping)
    )


def from_json_feed(item: Mapping[str, Any]) -> tuple[RawEnclosure, ...]:
    """The raw attachments of a JSON Feed item."""
    found = item.get("attachments")
    if not isinstance(found, list):
        return ()
    return tuple(
        (a.get("url"), a.get("mime_type"), a.get("size_in_bytes"))
        for a in found[: MAX_ENCLOSURES * 2]
        if isinstance(a, Mapping)
    )


def _length(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip()[:20])
    else:
        return None
    return number if 0 < number <= _MAX_LENGTH else None


def clean(raw: Iterable[RawEnclosure], base_url: str | None) -> tuple[FeedEnclosure, ...]:
    """Safe, absolute, de-duplicated enclosures from what the feed gave."""
    kept: dict[str, FeedEnclosure] = {}
    for url, kind, length in raw:
        if not isinstance(url, str) or not url.strip():
            continue
        address = safe_url(url.strip()[:2000], base_url, _SCHEMES)
        if address is None or address in kept:
            continue
        mime = kind.strip().lower() if isinstance(kind, str) else ""
        kept[address] = FeedEnclosure(address, mime if _MIME.match(mime) else None, _length(length))
        if len(kept) >= MAX_ENCLOSURES:
            break
    return tuple(kept.values())
