"""Items that share an identity within one fetch are not merged silently (issue 18, item 13):
a repeated GUID or link falls back to link + title + date; only true repeats are one article,
and the keys stay stable from fetch to fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.feeds.parser import parse_feed
from app.services import refresh
from app.services.profile import Profile
from app.storage import articles, feeds

BASE = "https://example.org/feed.xml"
WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def _item(n: int, *, link: str | None = "https://example.org/same", guid: str = "") -> str:
    date = (WHEN + timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    link_xml = f"<link>{link}</link>" if link else ""
    guid_xml = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    return f"<item><title>Story {n}</title>{link_xml}{guid_xml}<pubDate>{date}</pubDate></item>"


def _rss(items: list[str]) -> bytes:
    return f"<rss version='2.0'><channel><title>t</title>{''.join(items)}</channel></rss>".encode()


def _keys(items: list[str]) -> dict[str, str]:
    parsed = parse_feed(_rss(items), {"content-type": "application/rss+xml"}, BASE)
    return {e.title: e.dedup_key for e in parsed.entries}


def test_forty_items_with_one_link_stay_forty() -> None:
    keys = _keys([_item(n) for n in reversed(range(40))])
    assert len(keys) == 40
    assert len(set(keys.values())) == 40


def test_a_repeated_guid_with_other_content_is_another_item() -> None:
    keys = _keys([_item(n, link=f"https://example.org/{n}", guid="g") for n in range(3)])
    assert len(set(keys.values())) == 3


def test_true_repeats_are_still_one_article() -> None:
    parsed = parse_feed(_rss([_item(1), _item(1)]), {}, BASE)
    assert len(parsed.entries) == 1
    assert any("repeated" in w for w in parsed.warnings)


def test_keys_are_stable_as_the_feed_grows_and_reorders() -> None:
    """The oldest item keeps the plain key it had while it was alone, so a new item with the
    same link never takes over (and overwrites) the stored article."""
    alone = _keys([_item(0)])
    grown = _keys([_item(n) for n in reversed(range(5))])
    shuffled = _keys([_item(n) for n in (2, 0, 4, 1, 3)])
    assert grown["Story 0"] == alone["Story 0"]
    assert grown == shuffled


def test_storing_two_fetches_adds_only_the_new_item(tmp_path: Path) -> None:
    with Profile(tmp_path / "p") as profile:
        with profile.db.write() as s:
            feed_id = feeds.add_feed(s, BASE).id
        for count in (3, 4):
            parsed = parse_feed(_rss([_item(n) for n in reversed(range(count))]), {}, BASE)
            incoming = refresh.incoming(parsed)
            with profile.db.write() as s:
                result = articles.upsert_articles(s, feed_id, incoming, WHEN + timedelta(days=1))
            assert result.updated == 0
        assert result.new == 1
        with profile.db.read() as s:
            titles = sorted(a.title for a in articles.list_articles(s, limit=50))
    assert titles == [f"Story {n}" for n in range(4)]
