"""Remote images for the reader pane, fetched only when the reader asks for them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.feeds.fetcher import Fetcher, FetchError, FetchLimits

log = logging.getLogger(__name__)

MAX_IMAGES = 30
MAX_IMAGE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class FetchedImages:
    """Image bytes by the address the article used; ``failed`` counts the ones not loaded."""

    article_id: int
    images: dict[str, bytes]
    failed: int


def fetch_images(article_id: int, urls: Sequence[str], *, timeout: float = 15.0) -> FetchedImages:
    """Download up to :data:`MAX_IMAGES` http(s) images; failures are counted, never raised."""
    limits = FetchLimits(
        connect_timeout=min(10.0, timeout), total_timeout=timeout, max_bytes=MAX_IMAGE_BYTES
    )
    images: dict[str, bytes] = {}
    failed = 0
    wanted = [u for u in dict.fromkeys(urls) if urlsplit(u).scheme in ("http", "https")]
    with Fetcher(limits) as fetcher:
        for url in wanted[:MAX_IMAGES]:
            try:
                result = fetcher.fetch(url)
            except FetchError as exc:
                log.info("image %s not loaded: %s", url, exc.message)
                failed += 1
                continue
            if result.body:
                images[url] = result.body
            else:
                failed += 1
    return FetchedImages(article_id, images, failed + max(0, len(wanted) - MAX_IMAGES))
