"""Feed discovery from web pages."""

from __future__ import annotations

from app.feeds.discovery import discover_feeds

PAGE = "https://site.example/blog/post.html"


def test_links_in_page_order_resolved_and_filtered() -> None:
    html = b"""<!doctype html><html><head>
    <link rel="stylesheet" href="/style.css">
    <link rel="alternate" type="application/atom+xml" title="Atom" href="/atom.xml">
    <link rel="alternate" type="application/rss+xml" href="feed.rss">
    <LINK REL="Alternate" TYPE="application/feed+json" HREF="https://cdn.example/feed.json">
    <link rel="alternate" type="text/html" href="/other.html">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="ftp://x.example/f">
    <link rel="alternate" type="application/rss+xml" href="/atom.xml?dup">
    <link rel="alternate" type="application/atom+xml" href="/atom.xml">
    </head><body><link rel="alternate" type="application/rss+xml" href="/late.xml"></body></html>"""
    assert discover_feeds(html, PAGE) == [
        "https://site.example/atom.xml",
        "https://site.example/blog/feed.rss",
        "https://cdn.example/feed.json",
        "https://site.example/atom.xml?dup",
        "https://site.example/late.xml",
    ]


def test_base_href_is_honoured() -> None:
    html = (
        b'<head><base href="https://base.example/x/"><link rel="alternate feed" '
        b'type="application/rss+xml; charset=utf-8" href="rss"></head>'
    )
    assert discover_feeds(html, PAGE) == ["https://base.example/x/rss"]


def test_non_web_base_is_ignored() -> None:
    html = (
        b'<base href="javascript:alert(1)//">'
        b'<link rel="alternate" type="application/rss+xml" href="/f">'
    )
    assert discover_feeds(html, PAGE) == ["https://site.example/f"]


def test_pages_without_feeds_and_garbage() -> None:
    assert discover_feeds(b"", PAGE) == []
    assert discover_feeds(b"<html><head><title>x</title></head></html>", PAGE) == []
    assert discover_feeds(bytes(range(256)) * 100, PAGE) == []
    assert discover_feeds(b"<link rel=alternate type=application/rss+xml href=", PAGE) == []


def test_latin1_page() -> None:
    html = '<p>café</p><link rel="alternate" type="application/rss+xml" href="/f">'.encode(
        "latin-1"
    )
    assert discover_feeds(html, PAGE) == ["https://site.example/f"]
