"""Find the feeds a web page advertises with ``<link rel="alternate">``."""

from __future__ import annotations

import logging
from html.parser import HTMLParser

from app.feeds.sanitizer import safe_url

logger = logging.getLogger(__name__)

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/json",
    }
)
_WEB = frozenset({"http", "https"})
_MAX_CHARS = 2 * 1024 * 1024


class _LinkCollector(HTMLParser):
    """Collect feed ``<link>`` hrefs and the first ``<base href>``, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag == "base" and self.base is None and values.get("href", "").strip():
            self.base = values["href"]
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").lower().split(";")[0].strip()
            href = values.get("href", "").strip()
            if "alternate" in rels and kind in FEED_TYPES and href:
                self.hrefs.append(href)


def _decode(html: bytes) -> str:
    """Decode a page leniently (UTF-8, else cp1252); only ASCII markup matters here."""
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        return html.decode("cp1252", "replace")


def discover_feeds(html: bytes, base_url: str) -> list[str]:
    """Return the absolute http(s) URLs of the feeds a page links to, in page order,
    without repeats. ``base_url`` is the page's address (a ``<base href>`` wins)."""
    collector = _LinkCollector()
    try:
        collector.feed(_decode(html[:_MAX_CHARS]).replace("\x00", ""))
        collector.close()
    except Exception as exc:  # html.parser is lenient; hostile pages still must not crash
        logger.info("feed discovery stopped early: %r", exc)
    base = base_url
    if collector.base:
        base = safe_url(collector.base, base_url, _WEB) or base_url
    found: list[str] = []
    for href in collector.hrefs:
        url = safe_url(href, base, _WEB)
        if url is not None and url not in found:
            found.append(url)
    return found
