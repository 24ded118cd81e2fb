"""Helpers that build storage inputs for the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.storage.record import IncomingArticle

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def item(
    key: str,
    title: str | None = None,
    *,
    summary: str = "",
    url: str | None = None,
    author: str | None = None,
    published: datetime | None = None,
    age_days: float | None = None,
) -> IncomingArticle:
    """An incoming article with key ``key``; ``age_days`` sets published before NOW."""
    if age_days is not None:
        published = NOW - timedelta(days=age_days)
    return IncomingArticle(
        dedup_key=key,
        url=url if url is not None else f"https://example.org/{key}",
        title=title if title is not None else f"Title {key}",
        summary_html=f"<p>{summary}</p>" if summary else "",
        summary_text=summary,
        author=author,
        published=published,
    )
