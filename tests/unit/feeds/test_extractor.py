"""The full-text extractor against article pages built with news-site boilerplate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.feeds.extractor import MAX_TREE_BYTES, ExtractError, extract
from harness.pagegen import LAYOUTS, bbc_pages, build_page, split_article, words

STORY = (
    "The harbour board voted on Tuesday to rebuild the northern breakwater after two winter "
    "storms opened a gap wide enough for a fishing boat to pass through. Engineers told the "
    "board that the old stone wall had settled by almost a metre since it was last surveyed. "
    "Work will start in the spring and is expected to take eighteen months. The board will "
    "borrow most of the cost and repay it from mooring fees over twenty years. Skippers "
    "welcomed the decision but asked for a temporary barrier before the next storm season. "
    "The chair said a line of concrete blocks would be placed across the gap within a month. "
    "A public meeting about the design will be held in the town hall next week. Residents "
    "have asked whether the new wall will keep the footpath that runs along its top."
)
OTHERS = ("Council approves new library", "Ferry timetable changes", "School roof repaired")


def _f1(extracted: str, gold: str) -> float:
    got, want = Counter(words(extracted)), Counter(words(gold))
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_keeps_the_story_and_drops_the_boilerplate(index: int) -> None:
    title, paragraphs = split_article(STORY)
    page = build_page(index, title, paragraphs, OTHERS)
    found = extract(page.html.encode(), "https://news.example/story/1.html")
    assert _f1(found.text, page.gold) > 0.9
    lowered = found.text.lower()
    for boilerplate in ("ad blocker", "use cookies", "morning briefing", "terms of use"):
        assert boilerplate not in lowered
    assert "<script" not in found.html and "onclick" not in found.html.lower()


def test_links_are_absolute_and_safe() -> None:
    body = (
        "<html><body><article><h1>Harbour wall</h1>"
        f"<p>{STORY}</p><p>More at <a href='/board/minutes'>the minutes</a> and "
        "<a href='javascript:alert(1)'>this</a>.</p><img src='/wall.jpg'></article>"
        "</body></html>"
    )
    found = extract(body.encode(), "https://news.example/story/1.html")
    assert 'href="https://news.example/board/minutes"' in found.html
    assert "javascript" not in found.html
    assert 'rel="noopener noreferrer nofollow"' in found.html


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"\x00\xff" * 500, b"<html><body><p>Subscribe to read.</p></body></html>"],
)
def test_no_article_is_a_known_error(body: bytes) -> None:
    with pytest.raises(ExtractError):
        extract(body, "https://news.example/x")


def test_an_oversized_page_is_refused_before_parsing() -> None:
    with pytest.raises(ExtractError, match="larger"):
        extract(b"<p>" + b"a" * (MAX_TREE_BYTES + 1), "https://news.example/x")


def test_bbc_articles_in_five_layouts(shared_data: Path) -> None:
    """Thirty pages built from real articles: each keeps its story (bench/fulltext.py times it)."""
    pages = bbc_pages(shared_data, 30)
    assert len(pages) == 30
    scores = [_f1(extract(p.html.encode(), "https://news.example" + p.path).text, p.gold)
              for p in pages]  # fmt: skip
    assert min(scores) > 0.9
