"""Article pages for the full-text tests and benchmark, built at run time.

The data beside the project has feeds and article texts, not web pages, so each page wraps one
article's paragraphs in the boilerplate a news site puts around them: navigation, a cookie
banner, share buttons, inline advertisements and "related" links inside the body, a sidebar of
other headlines, comments, a newsletter box and a footer. Five layouts vary the markup (an
``<article>`` element, plain ``div`` soup, a table layout, a live-blog list, a page whose
comments are longer than the story), so an extractor cannot win by finding one tag.

A page is returned with its **gold** text: the article's own paragraphs, which is what an
extractor should keep. Nothing here is copied data: the texts come from the caller.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LAYOUTS = ("article", "divsoup", "table", "liveblog", "chatty")

_NAV = ("Home", "News", "Sport", "Business", "Technology", "Health", "Culture", "Travel", "Video")
_FOOTER = (
    "Terms of Use",
    "About us",
    "Privacy Policy",
    "Cookies",
    "Accessibility Help",
    "Parental Guidance",
    "Contact us",
    "Advertise with us",
)
_COMMENTS = (
    "This is exactly what I have been saying for years and nobody listens to me.",
    "Does anyone know whether this applies to people who moved here last year as well?",
    "Great reporting as always, although I think the headline is a bit misleading here.",
    "I stopped reading after the second paragraph because it was behind a paywall again.",
    "My neighbour works in this field and he says the real story is far more complicated.",
    "First! Also, why does this site keep asking me to turn off my ad blocker every visit?",
)


@dataclass(frozen=True)
class Page:
    """One built page: its address path, its HTML, the article's title and gold paragraphs."""

    path: str
    html: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def gold(self) -> str:
        """The article's own text, paragraphs joined by blank lines."""
        return "\n\n".join(self.paragraphs)


def split_article(text: str) -> tuple[str, tuple[str, ...]]:
    """A title and paragraphs of two or three sentences from one block of article text."""
    text = re.sub(r"\s+", " ", text).strip()
    sentences = re.split(r"(?<=[.!?\"])\s+(?=[A-Z\"])", text)
    first = sentences[0].split()
    title = " ".join(first[:8])
    sentences[0] = " ".join(first[8:]) or sentences[0]
    paragraphs: list[str] = []
    step = 3
    for start in range(0, len(sentences), step):
        chunk = " ".join(s for s in sentences[start : start + step] if s)
        if chunk:
            paragraphs.append(chunk)
        step = 2 if step == 3 else 3
    return title, tuple(paragraphs)


def _links(items: Sequence[str], prefix: str) -> str:
    return "".join(
        f'<li><a href="/{prefix}/{i}">{html.escape(t)}</a></li>' for i, t in enumerate(items)
    )


def _ad(n: int) -> str:
    return (
        f'<div class="ad-slot" id="ad-{n}"><span>Advertisement</span>'
        f'<a href="https://ads.example.net/c?id={n}"><img src="https://ads.example.net/{n}.gif"'
        ' alt="Sponsored"></a><p>Sponsored: Save 40% on your first order today</p></div>'
    )


def _body_paragraphs(paragraphs: Sequence[str], others: Sequence[str], tag: str) -> str:
    parts: list[str] = []
    for i, text in enumerate(paragraphs):
        parts.append(f"<{tag}>{html.escape(text)}</{tag}>")
        if i == 1:
            parts.append(_ad(i))
        if i == 3 and others:
            link = f'<a href="/story/r{i}">{html.escape(others[0])}</a>'
            parts.append(f'<p class="related">Related: {link}</p>')
    return "\n".join(parts)


def _chrome_top(title: str) -> str:
    return (
        '<div id="cookie-banner"><p>We use cookies to give you the best experience. '
        "By continuing you agree to our use of cookies.</p><button>Accept</button></div>"
        f'<header><a class="logo" href="/">The Daily Example</a><nav><ul>{_links(_NAV, "section")}'
        '</ul></nav><form class="search"><input name="q" placeholder="Search"></form></header>'
        f'<div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/news">News</a> &gt; '
        f"{html.escape(title[:30])}</div>"
    )


def _share() -> str:
    return (
        '<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a> '
        '<a href="#">Email this article</a> <a href="#">Copy link</a></div>'
    )


def _sidebar(others: Sequence[str]) -> str:
    return (
        f'<aside class="sidebar"><h2>Most read</h2><ol>{_links(others[:6], "story")}</ol>'
        '<div class="newsletter"><h3>Get our morning briefing</h3><p>Sign up for the news you '
        "need to start your day, delivered to your inbox every weekday.</p>"
        '<input type="email"><button>Sign up</button></div>' + _ad(99) + "</aside>"
    )


def _comments(count: int) -> str:
    items = "".join(
        f'<li class="comment"><span class="user">reader{i}</span> <span class="time">{i + 1} '
        f"hours ago</span><p>{html.escape(_COMMENTS[i % len(_COMMENTS)])}</p>"
        f'<a href="#">Reply</a> <a href="#">Report</a></li>'
        for i in range(count)
    )
    return f'<section id="comments"><h2>Comments ({count})</h2><ol>{items}</ol></section>'


def _footer() -> str:
    return (
        f"<footer><ul>{_links(_FOOTER, 'about')}</ul><p>Copyright 2024 The Daily Example. "
        "The Daily Example is not responsible for the content of external sites.</p></footer>"
    )


def build_page(index: int, title: str, paragraphs: Sequence[str], others: Sequence[str]) -> Page:
    """Wrap one article in the boilerplate of layout ``LAYOUTS[index % 5]``."""
    layout = LAYOUTS[index % len(LAYOUTS)]
    head = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)} - The Daily Example</title>"
        '<meta name="viewport" content="width=device-width">'
        "<script>window.dataLayer=[];function track(){}</script>"
        "<style>.ad-slot{border:1px solid}</style></head><body>"
    )
    byline = (
        '<p class="byline">By Staff Reporter, <time datetime="2024-05-01">1 May 2024</time></p>'
    )
    h1 = f"<h1>{html.escape(title)}</h1>"
    if layout == "article":
        main = (
            f"<main><article>{h1}{byline}{_share()}"
            f"{_body_paragraphs(paragraphs, others, 'p')}{_share()}</article>"
            f"{_comments(3)}</main>{_sidebar(others)}"
        )
    elif layout == "divsoup":
        body = "\n".join(
            f'<div class="txt">{html.escape(p)}</div>' + (_ad(i) if i == 2 else "")
            for i, p in enumerate(paragraphs)
        )
        main = (
            f'<div id="wrap"><div class="col-l">{h1}<div class="meta">{byline}</div>'
            f'<div class="story-body">{body}</div>{_share()}</div>'
            f'<div class="col-r">{_sidebar(others)}</div></div>{_comments(4)}'
        )
    elif layout == "table":
        main = (
            f'<table width="100%"><tr><td valign="top" width="70%">{h1}{byline}'
            f"{_body_paragraphs(paragraphs, others, 'p')}</td>"
            f'<td valign="top">{_sidebar(others)}</td></tr></table>{_comments(2)}'
        )
    elif layout == "liveblog":
        entries = "".join(
            f'<li class="post"><time>{9 + i // 2:02d}:{(i * 17) % 60:02d}</time>'
            f"<p>{html.escape(p)}</p></li>"
            for i, p in enumerate(paragraphs)
        )
        main = (
            f'<div class="live">{h1}{byline}<ul class="posts">{entries}</ul>{_share()}</div>'
            f"{_sidebar(others)}"
        )
    else:  # chatty: more comment text than story text
        main = (
            f'<div class="content">{h1}{byline}<section class="article-body">'
            f"{_body_paragraphs(paragraphs, others, 'p')}</section></div>{_comments(12)}"
            f"{_sidebar(others)}"
        )
    page_html = head + _chrome_top(title) + main + _footer() + "</body></html>"
    return Page(f"/story/{index}.html", page_html, title, tuple(paragraphs))


def bbc_pages(data: Path, count: int = 30) -> list[Page]:
    """``count`` pages built from the BBC articles of ``../shared/data`` (every category)."""
    path = data / "headlines" / "bbc_news" / "test.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if len(row.get("text", "")) > 800]
    rows.sort(key=lambda row: (row["category"], len(row["text"])))
    step = max(1, len(rows) // count)
    chosen = rows[::step][:count]
    articles = [split_article(row["text"]) for row in chosen]
    titles = [title for title, _ in articles]
    return [
        build_page(i, title, paragraphs, titles[i + 1 :] + titles[:i])
        for i, (title, paragraphs) in enumerate(articles)
    ]


def words(text: str) -> list[str]:
    """Lower-cased word tokens, for comparing an extraction with the gold text."""
    return re.findall(r"[a-z0-9]+", html.unescape(text).lower())
