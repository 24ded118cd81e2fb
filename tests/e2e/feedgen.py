"""Small RSS documents for end-to-end tests."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate
from xml.sax.saxutils import escape


def rss(
    title: str,
    items: Sequence[tuple[str, str]],
    *,
    link: str = "https://example.org/",
    start: int = 1_750_000_000,
) -> bytes:
    """An RSS 2.0 feed; ``items`` are (guid, title), newest first."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
    ]
    for n, (guid, item_title) in enumerate(items):
        date = formatdate(start - n * 600, usegmt=True)
        parts.append(
            f"<item><guid isPermaLink='false'>{escape(guid)}</guid>"
            f"<title>{escape(item_title)}</title>"
            f"<link>{escape(link)}{escape(guid)}</link><pubDate>{date}</pubDate>"
            f"<description>&lt;p&gt;About {escape(item_title)}.&lt;/p&gt;"
            f"&lt;script&gt;alert(1)&lt;/script&gt;</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()
