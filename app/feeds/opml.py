"""Read and write OPML subscription lists.

Reading never fetches or opens anything a list refers to and never expands DTD
entities: outlines are collected with the standard library's tolerant
``html.parser`` (which, like listparser, ignores DOCTYPE declarations, so neither
entity expansion nor external entities exist for it), so the sloppy OPML that
real readers export still imports. That walker keeps what listparser drops
(``htmlUrl`` and duplicate outlines). Lists in the other formats listparser reads
(FOAF, iGoogle) go through listparser, always given bytes, never a URL.
Writing uses ``xml.etree``; what it writes reads back to the same feeds.
"""

from __future__ import annotations

import codecs
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from html.parser import HTMLParser
from typing import Any

import listparser

from app.feeds.sanitizer import safe_url

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_OUTLINES = 10_000
_WEB = frozenset({"http", "https"})
_XML_ENCODING_RE = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_SPACE_RE = re.compile(r"\s+")


class OpmlError(Exception):
    """The data is not a readable subscription list; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription: feed URL, title, folder path ("News/Tech") and web site."""

    url: str
    title: str | None = None
    folder: str | None = None
    site_url: str | None = None


@dataclass(frozen=True)
class OpmlResult:
    """The feeds of a list in document order, and one line per outline skipped."""

    feeds: tuple[OpmlFeed, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class _Outline:
    attrs: dict[str, str]
    folders: tuple[str, ...]


class _OutlineWalker(HTMLParser):
    """Collect OPML outlines with their enclosing folder names."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.is_opml = False
        self.outlines: list[_Outline] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = tag.rpartition(":")[2]
        if name == "opml":
            self.is_opml = True
        elif name == "outline" and self.is_opml:
            values = {k.rpartition(":")[2]: v or "" for k, v in attrs}
            self.outlines.append(_Outline(values, tuple(f for f in self._stack if f)))
            if len(self.outlines) > MAX_OUTLINES:
                raise _TooManyOutlinesError
            is_feed = bool(values.get("xmlurl", "").strip())
            self._stack.append("" if is_feed else _label(values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag.rpartition(":")[2] == "outline" and self._stack:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag.rpartition(":")[2] == "outline" and self._stack:
            self._stack.pop()


class _TooManyOutlinesError(Exception):
    """Raised inside the walker to stop at the outline cap."""


def _label(attrs: dict[str, str]) -> str:
    """The display name of an outline: its text, else its title, whitespace collapsed."""
    text = _SPACE_RE.sub(" ", attrs.get("text", "")).strip()
    return text or _SPACE_RE.sub(" ", attrs.get("title", "")).strip()


def _decode(data: bytes) -> str:
    """Decode an XML document: BOM, then the XML declaration, then UTF-8, then cp1252."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    match = _XML_ENCODING_RE.match(data.lstrip())
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _feed_url(raw: str) -> str | None:
    """An http(s) feed URL from an outline's xmlUrl (``feed:`` forms accepted)."""
    url = raw.strip()
    lowered = url.lower()
    if lowered.startswith("feed://"):
        url = "http://" + url[7:]
    elif lowered.startswith("feed:"):
        url = url[5:]
    return safe_url(url, None, _WEB)


def _from_outlines(outlines: list[_Outline]) -> Iterator[tuple[OpmlFeed | None, str | None]]:
    """Yield (feed, problem) for every outline that is or looks like a subscription."""
    for outline in outlines:
        attrs = outline.attrs
        raw = attrs.get("xmlurl", "").strip()
        kind = attrs.get("type", "").strip().lower()
        if not raw:
            if kind in ("link", "include"):
                yield None, f"skipped a link to another list: {attrs.get('url', '')[:200]}"
            continue
        url = _feed_url(raw)
        if url is None:
            yield None, f"skipped {raw[:200]!r}: not a web address"
            continue
        title = _label(attrs) or None
        if title in (raw, url):
            title = None
        site = attrs.get("htmlurl", "").strip()
        yield (
            OpmlFeed(
                url=url,
                title=title,
                folder="/".join(outline.folders) or None,
                site_url=safe_url(site, None, _WEB) if site else None,
            ),
            None,
        )


def _from_listparser(text: str) -> list[OpmlFeed]:
    """Feeds of a FOAF or iGoogle list, read by listparser (from bytes, never a URL)."""
    result: Any = listparser.parse(text.encode("utf-8"))
    if not str(result.get("version", "")) or str(result.get("version")).startswith("opml"):
        return []
    feeds = []
    for item in result.get("feeds", []):
        url = _feed_url(str(item.get("url", "")))
        if url is None:
            continue
        categories = item.get("categories") or []
        folder = "/".join(categories[0]) if categories and categories[0] else None
        feeds.append(OpmlFeed(url=url, title=str(item.get("title") or "") or None, folder=folder))
    return feeds


def read_opml(data: bytes) -> OpmlResult:
    """Read a subscription list; raise OpmlError when it is not one or is too large.

    Folders are kept (nested ones joined with "/"); outlines whose URL repeats an
    earlier one, or is not http(s), are skipped with a line in ``problems``.
    """
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text = _decode(data).replace("\x00", "")
    if not text.strip():
        raise OpmlError("the file is empty")
    walker = _OutlineWalker()
    try:
        walker.feed(text)
        walker.close()
    except _TooManyOutlinesError:
        raise OpmlError(f"the file has more than {MAX_OUTLINES} outlines") from None
    except Exception as exc:  # html.parser is lenient; anything else is unreadable
        logger.warning("OPML could not be read: %r", exc)
        raise OpmlError("the file could not be read") from exc
    if walker.is_opml:
        pairs = list(_from_outlines(walker.outlines))
    else:
        try:
            pairs = [(feed, None) for feed in _from_listparser(text)]
        except Exception as exc:  # listparser on hostile input
            logger.warning("listparser failed: %r", exc)
            pairs = []
        if not pairs:
            raise OpmlError("the file is not an OPML subscription list")
    feeds: list[OpmlFeed] = []
    problems: list[str] = []
    seen: set[str] = set()
    for feed, problem in pairs:
        if problem is not None:
            problems.append(problem)
        elif feed is not None and feed.url in seen:
            problems.append(f"skipped a duplicate of {feed.url[:200]}")
        elif feed is not None:
            seen.add(feed.url)
            feeds.append(feed)
    return OpmlResult(feeds=tuple(feeds), problems=tuple(problems))


def write_opml(feeds: Sequence[OpmlFeed], *, title: str = "Heedful subscriptions") -> bytes:
    """Write feeds as OPML 2.0 (UTF-8); folders become parent outlines, in first-seen order."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = formatdate(usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for feed in feeds:
        path = tuple(p.strip() for p in (feed.folder or "").split("/") if p.strip())
        for depth in range(1, len(path) + 1):
            key = path[:depth]
            if key not in folders:
                name = key[-1]
                folders[key] = ET.SubElement(folders[key[:-1]], "outline", text=name, title=name)
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.site_url:
            attrs["htmlUrl"] = feed.site_url
        ET.SubElement(folders[path], "outline", attrs)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
