"""What fuzzing and the property tests check: sanitised HTML carries nothing active or remote,
and the feed-bytes → stored-articles and OPML-import paths only ever fail in known ways."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from app.feeds.entry import ParseError
from app.feeds.parser import parse_feed
from app.services.subscription import SubscriptionError, import_opml
from app.storage import articles
from app.storage.database import Database
from app.storage.record import IncomingArticle

ACTIVE_TAGS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
        "input", "button", "textarea", "select", "base", "meta", "link", "svg", "math", "video",
        "audio", "source", "track", "picture", "noscript", "template", "portal", "xml",
    }
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "cite", "action", "formaction", "background", "poster", "srcset", "data",
        "xlink:href", "longdesc", "usemap", "lowsrc", "dynsrc", "codebase", "manifest", "ping",
    }
)  # fmt: skip
_REMOTE_ATTRIBUTES = frozenset({"src", "srcset", "background", "poster", "lowsrc", "dynsrc"})
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _scheme(value: str) -> str | None:
    cleaned = _CONTROL.sub("", value).lower()
    match = re.match(r"^([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else None


class _Inspector(HTMLParser):
    def __init__(self, allow_images: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.allow_images = allow_images
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.problems.append(f"<{tag}> survived")
        for name, raw in attrs:
            value = raw or ""
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            elif name == "style":  # CSS, and with it expression(), lives only here
                self.problems.append(f"style on <{tag}>")
            elif name in URL_ATTRIBUTES:
                scheme = _scheme(value)
                if name in _REMOTE_ATTRIBUTES and not self.allow_images:
                    self.problems.append(f"remote resource {name}={value!r} on <{tag}>")
                elif scheme is None:
                    self.problems.append(f"relative or schemeless {name}={value!r} on <{tag}>")
                elif scheme not in ("http", "https") and not (
                    scheme == "mailto" and name == "href"
                ):
                    self.problems.append(f"{scheme}: URL in {name} on <{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def html_problems(html: str, *, allow_images: bool) -> list[str]:
    """Everything active or (without ``allow_images``) remote left in ``html``."""
    inspector = _Inspector(allow_images)
    inspector.feed(html)
    inspector.close()
    return inspector.problems


HEADERS: tuple[dict[str, str], ...] = (
    {"content-type": "application/rss+xml"},
    {"content-type": "text/html; charset=utf-8"},
    {"content-type": "application/xml; charset=utf-16"},
    {},
)


def check_feed(data: bytes, db: Database, feed_id: int, variant: int = 0) -> int:
    """Parse ``data`` and store its entries; raises AssertionError on a broken invariant and
    lets any unexpected exception through. Returns how many entries were stored."""
    headers = HEADERS[variant % len(HEADERS)]
    try:
        feed = parse_feed(data, headers, "http://127.0.0.1:9/feed.xml")
    except ParseError as exc:
        assert str(exc).strip(), "a ParseError without a message"
        return 0
    assert len(feed.entries) <= 2000
    for entry in feed.entries:
        assert "\x00" not in entry.title + entry.summary_html + entry.summary_text
        assert len(entry.title) <= 1000, len(entry.title)
        assert entry.url is None or _scheme(entry.url) in ("http", "https"), entry.url
        problems = html_problems(entry.summary_html, allow_images=True)
        assert not problems, problems
        assert entry.published is None or entry.published.tzinfo is not None
    items = [
        IncomingArticle(
            e.dedup_key, e.url, e.title, e.summary_html, e.summary_text, e.author, e.published
        )
        for e in feed.entries
    ]
    from datetime import UTC, datetime

    with db.write() as s:
        result = articles.upsert_articles(s, feed_id, items, datetime.now(UTC))
    return result.new + result.updated


def check_opml(data: bytes, db: Database, folder: Path) -> int:
    """Import ``data`` as an OPML file; only SubscriptionError may come out. Returns how many
    feeds were added; every stored address must be http(s)."""
    path = folder / "fuzz.opml"
    path.write_bytes(data)
    try:
        report = import_opml(db, path)
    except SubscriptionError as exc:
        assert str(exc).strip()
        return 0
    from app.storage import feeds

    with db.read() as s:
        for feed in feeds.list_feeds(s):
            assert _scheme(feed.url) in ("http", "https"), feed.url
            assert feed.site_url is None or _scheme(feed.site_url) in ("http", "https")
    return report.added
