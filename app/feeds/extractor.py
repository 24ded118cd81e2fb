"""The main content of an article page, for "Fetch full article".

Extraction is trafilatura's (its own boilerplate rules with readability and jusText as
fallbacks): on 30 local news pages with navigation, ads, comments and sidebars it kept the
story with precision 0.99 and recall 1.00 at about 7 ms a page, where readability-lxml let
advertisement or banner text into 24 of the 30 (``bench/fulltext.py``). Its result is
untrusted HTML like any feed content, so the sanitiser's allowlist runs last, with the page's
address as the base for relative links; remote images stay in the markup and the reader
blocks them until asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.feeds.sanitizer import html_to_text, sanitize_html
from app.storage.error import HeedfulError

logger = logging.getLogger(__name__)

MIN_TEXT_CHARS = 80
"""Less text than this is a teaser, an error page or a paywall, not an article."""

MAX_TREE_BYTES = 8 * 1024 * 1024
"""Pages larger than this are refused before parsing (the fetcher's own cap is 10 MB)."""


@dataclass(frozen=True)
class Extracted:
    """An article's main content: sanitised HTML and its plain text."""

    html: str
    text: str


class ExtractError(HeedfulError):
    """No article text could be found in a page; the message is for the reader."""


def extract(body: bytes, url: str) -> Extracted:
    """The main content of the page ``body`` fetched from ``url``, sanitised.

    Raises ExtractError when the page is too large, cannot be parsed, or holds too little
    text to be an article. Never raises anything else for hostile input.
    """
    if len(body) > MAX_TREE_BYTES:
        raise ExtractError(f"the page is larger than {MAX_TREE_BYTES // (1024 * 1024)} MB")
    if not body.strip():
        raise ExtractError("the page is empty")
    import trafilatura  # imported here: it takes a while, and only this action needs it

    # It logs hostile or empty pages as errors; here they are expected, and said once below.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

    try:
        raw = trafilatura.extract(
            body,
            url=url,
            output_format="html",
            include_comments=False,
            include_tables=True,
            include_images=True,
            include_links=True,
            include_formatting=True,
            deduplicate=False,
        )
    except Exception as exc:  # a third-party parser on untrusted input: contain every failure
        logger.warning("extraction of %d bytes failed: %s", len(body), type(exc).__name__)
        raise ExtractError("the page could not be read as an article") from exc
    if not raw:
        raise ExtractError("no article text was found on the page")
    clean = sanitize_html(_body_of(raw), base_url=url)
    text = html_to_text(clean)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractError("the page has too little text to be the article")
    return Extracted(html=clean, text=text)


def _body_of(document: str) -> str:
    """The inside of ``<body>`` when the extractor returned a whole document."""
    lowered = document.lower()
    start = lowered.find("<body")
    if start < 0:
        return document
    start = lowered.find(">", start) + 1
    end = lowered.rfind("</body>")
    return document[start : end if end > start else len(document)]
