"""A shortcut past feedparser for the plainest RSS 2.0, giving the entries feedparser would.

feedparser is pure Python and spent about 17 ms of a core on a 50-item feed, most of a
refresh's work at thousands of feeds. A document read here is one that feedparser reads in
only one way: UTF-8, no DOCTYPE or entity declarations (so no entity is ever expanded; CDATA
sections and comments are read), well formed, an ``rss`` root of version 2.0 with one
``channel``, no namespaces or attributes but ``isPermaLink``, and only the elements listed
below, each holding text alone. Titles, links, GUIDs and dates hold no ``&`` or ``<`` once
parsed (there feedparser guesses at markup). The text goes through the steps feedparser
applies to it (stripping, its repair of UTF-8 read as Latin-1, its Windows-1252 mapping, its
joining of links to the feed's address, its date parser), and descriptions with attributes or
character references through feedparser's own relative-URI resolver (without either it only
re-serialises the markup, and the sanitiser does that again). Anything else returns None and
feedparser reads the document as before; tests/unit/test_shortcut.py holds the two to the same
result.
"""

from __future__ import annotations

import contextlib
import functools
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from feedparser.datetimes import _parse_date
from feedparser.mixin import _cp1252
from feedparser.urls import _urljoin, resolve_relative_uris

from app.feeds.entry import RawEntry, struct_to_datetime
from app.feeds.sanitizer import PLAIN_ADDRESS

_CHANNEL_TAGS = frozenset(
    {"title", "link", "description", "language", "lastBuildDate", "pubDate", "generator"}
    | {"ttl", "copyright", "docs", "item"}
)
_TYPES = frozenset({"application/rss+xml", "application/xml"})
_ITEM_TAGS = frozenset({"title", "link", "guid", "pubDate", "description", "category"})
_UTF8_DECLARATION = re.compile(rb"""^<\?xml[^>]*?encoding=["']utf-?8["']""", re.IGNORECASE)
_MARKUP_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
"""``<!`` that opens neither a comment nor a CDATA section (inside either, it refuses too)."""
_DECLARATION = re.compile(rb"^<\?xml[^>]*\?>")
_OPAQUE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?!//)[A-Za-z0-9._~!$'()*+,;=:@%/?#-]*")
"""An address with a scheme and no ``//`` after it (``urn:…``, ``tag:…``, ``mailto:…``), of
plain characters: urljoin returns it as it is when its scheme is not the base's."""
_RFC822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d{2}:\d{2}:\d{2} (?:GMT|[+-]\d{4})"
)


class _UnsureError(Exception):
    """The document holds something the shortcut does not read exactly as feedparser does."""


Plain = tuple[str, str | None, list[RawEntry]]
"""A feed's title, its site link and its entries."""


def read(body: bytes, content_type: str, base_url: str) -> Plain | None:
    """(feed title, site link, entries) of a plain RSS 2.0 document, or None when feedparser
    must read it."""
    media, _, parameters = content_type.lower().partition(";")
    charset = parameters.partition("charset=")[2].strip(" \"'")
    if media.strip() not in _TYPES or charset not in ("", "utf-8"):
        return None  # feedparser warns of other types and of an overridden charset
    if b"xmlns" in body or _MARKUP_DECLARATION.search(body) is not None:
        return None  # namespaces, a DOCTYPE, entity declarations
    head = body.lstrip()
    if head.startswith(b"<?xml"):
        if _DECLARATION.match(head) is None:
            return None
        if b"encoding" in head[:200] and _UTF8_DECLARATION.match(head) is None:
            return None
    elif b"<?xml" in head[:512]:
        return None  # a declaration after something else (a byte-order mark, say)
    try:
        body.decode("utf-8")
        # No DOCTYPE can be in the body (checked above), so no entity is declared or expanded.
        root = ElementTree.fromstring(body)  # noqa: S314
        return _channel(root, base_url)
    except (ElementTree.ParseError, ValueError, _UnsureError):  # ValueError: an odd encoding
        return None


def _channel(root: ElementTree.Element, base_url: str) -> Plain:
    if root.tag != "rss" or dict(root.attrib) != {"version": "2.0"} or len(root) != 1:
        raise _UnsureError
    channel = root[0]
    if channel.tag != "channel" or channel.attrib or _text_of(root) or _text_of(channel):
        raise _UnsureError
    title = ""
    link: str | None = None
    items: list[ElementTree.Element] = []
    for child in channel:
        if child.tag not in _CHANNEL_TAGS:
            raise _UnsureError
        if child.tag == "item":
            items.append(child)
            continue
        value = _leaf(child)
        if child.tag == "title":
            title = _plain(value)
        elif child.tag == "link":
            link = _urljoin(base_url, _plain(value)) or None
    if not items:
        raise _UnsureError  # feedparser decides what an empty document is
    return title, link, list(_entries(items, base_url, _joiner(base_url)))


def _joiner(base_url: str) -> Callable[[str], str]:
    """feedparser's ``_urljoin`` against ``base_url``, returning as it is, without splitting it
    and the base (about 12 µs, twice an entry), an address that urljoin returns unchanged: a
    plain absolute http(s) one (:data:`~app.feeds.sanitizer.PLAIN_ADDRESS`), or a plain one
    whose scheme is not the base's (:data:`_OPAQUE`, a GUID such as ``urn:…``). That holds when
    urllib can split the base; when it cannot, ``_urljoin`` turns every address into "" and each
    is joined."""
    try:
        scheme = urlsplit(base_url).scheme if base_url else None
    except ValueError:
        return functools.partial(_urljoin, base_url)

    def join(address: str) -> str:
        if PLAIN_ADDRESS.fullmatch(address) is not None:
            return address
        opaque = _OPAQUE.fullmatch(address)
        if opaque is not None and scheme is not None and opaque.group(1).lower() != scheme:
            return address
        return _urljoin(base_url, address)  # type: ignore[no-any-return]

    return join


def _entries(
    items: list[ElementTree.Element], base_url: str, join: Callable[[str], str]
) -> Iterator[RawEntry]:
    for item in items:
        if item.attrib or _text_of(item):
            raise _UnsureError
        found: dict[str, str] = {}
        permalink = True
        for child in item:
            if child.tag not in _ITEM_TAGS or child.tag in found:
                raise _UnsureError
            if child.tag == "guid":
                if set(child.attrib) - {"isPermaLink"}:
                    raise _UnsureError
                permalink = child.attrib.get("isPermaLink", "true") == "true"
            found[child.tag] = _leaf(child, allow=child.tag == "guid")
        if "link" not in found:
            raise _UnsureError
        guid = _plain(found["guid"]) if "guid" in found else None
        if guid and permalink:
            guid = join(guid)
        date_text = _plain(found["pubDate"]) if "pubDate" in found else None
        description = found.get("description", "").strip()
        if "=" in description or "&" in description:  # an attribute or a reference
            description = resolve_relative_uris(description, base_url, "utf-8", "text/html")
        description = _fixed(description)
        yield RawEntry(
            guid=guid or None,
            link=join(_plain(found["link"])) or None,
            title=_plain(found.get("title", "")),
            title_is_html=False,
            html=description,
            author=None,
            published=_date(date_text) if date_text else None,
            date_text=date_text or None,
        )


def _leaf(element: ElementTree.Element, *, allow: bool = False) -> str:
    """The text of an element that must hold text alone (no attributes unless allowed)."""
    if len(element) or (element.attrib and not allow):
        raise _UnsureError
    return element.text or ""


def _text_of(element: ElementTree.Element) -> str:
    """Text loose between an element's children (a container must hold none)."""
    loose = [element.text or "", *(child.tail or "" for child in element)]
    return "".join(loose).strip()


def _plain(value: str) -> str:
    """Text as feedparser leaves it, where it would not guess at markup."""
    if "&" in value or "<" in value:
        raise _UnsureError
    return _fixed(value.strip())


def _fixed(value: str) -> str:
    """feedparser's repairs of every text: UTF-8 that was read as Latin-1, then the Windows-1252
    characters in the C1 range. Both leave ASCII as it is, so ASCII text skips them (five texts
    an entry, 3 µs each)."""
    if value.isascii():
        return value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252)


def _date(text: str) -> datetime | None:
    """The date feedparser would read: the common RFC 822 form directly, others by its parser."""
    if _RFC822.fullmatch(text):
        try:
            return parsedate_to_datetime(text).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    return struct_to_datetime(_parse_date(text))
