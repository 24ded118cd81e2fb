"""Full text: fetch an article's page, keep its main content, and show it offline afterwards.

The page is fetched through the same hardened fetcher as feeds, with the reader's proxy
setting (http and https only, a size cap, counted and checked redirects, a wall-clock
deadline), its main content extracted and
sanitised (:mod:`app.feeds.extractor`), and stored in ``articles.full_html``, so the reader
shows it without the network from then on. Remote images in it stay blocked until asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.feeds.extractor import ExtractError, extract
from app.feeds.fetcher import Fetcher, FetchError
from app.feeds.sanitizer import html_to_text
from app.services import preference
from app.storage import articles, content
from app.storage.database import Database
from app.storage.error import HeedfulError

logger = logging.getLogger(__name__)

PENDING_WINDOW = timedelta(days=2)
"""How far back "always fetch full text" looks for articles still without it."""


class FullTextError(HeedfulError):
    """The full text could not be fetched or found; the message is for the reader."""


@dataclass(frozen=True)
class FullText:
    """An article's full text: sanitised HTML and its plain text."""

    article_id: int
    html: str
    text: str


def stored(db: Database, article_id: int) -> FullText | None:
    """The full text fetched earlier, or None."""
    with db.read() as s:
        html = content.full_html(s, article_id)
    return None if html is None else FullText(article_id, html, html_to_text(html))


def fetch(db: Database, article_id: int, *, fetcher: Fetcher | None = None) -> FullText:
    """Fetch the article's page, extract its main content, store it and return it.

    Raises FullTextError for an unknown article, one without an address, a failed fetch or
    a page with no article in it; the stored text (if any) is then left as it was.
    """
    with db.read() as s:
        article = articles.get_article(s, article_id)
    if article is None:
        raise FullTextError(f"there is no article {article_id}")
    if not article.url:
        raise FullTextError(f"article {article_id} has no web address to fetch")
    own = fetcher is None
    client = fetcher or Fetcher(preference.fetch_limits(db))
    try:
        result = client.fetch(article.url)
    except FetchError as exc:
        raise FullTextError(f"the article's page could not be fetched: {exc.message}") from exc
    finally:
        if own:
            client.close()
    try:
        found = extract(result.body or b"", result.url)
    except ExtractError as exc:
        raise FullTextError(f"no full text: {exc}") from exc
    with db.write() as s:
        content.set_full_html(s, article_id, found.html)
    logger.info("stored %d characters of full text for article %d", len(found.text), article_id)
    return FullText(article_id, found.html, found.text)


def fetch_missing(db: Database, *, limit: int = 20, fetcher: Fetcher | None = None) -> int:
    """Fetch the full text of new unread articles of feeds with "always fetch full text" on;
    returns how many were stored. A failing page is logged and skipped."""
    since = datetime.now(UTC) - PENDING_WINDOW
    with db.read() as s:
        pending = content.missing_full_text(s, since, limit)
    if not pending:
        return 0
    stored_count = 0
    own = fetcher is None
    client = fetcher or Fetcher(preference.fetch_limits(db))
    try:
        for article_id, _url in pending:
            try:
                fetch(db, article_id, fetcher=client)
                stored_count += 1
            except FullTextError as exc:
                logger.info("full text of article %d: %s", article_id, exc)
    finally:
        if own:
            client.close()
    return stored_count


def feed_option(db: Database, feed_id: int) -> bool:
    """Whether the feed has "always fetch full text" on."""
    with db.read() as s:
        return content.feed_full_text(s, feed_id)


def set_feed_option(db: Database, feed_id: int, on: bool) -> None:
    """Switch a feed's "always fetch full text" option."""
    with db.write() as s:
        content.set_feed_full_text(s, feed_id, on)
