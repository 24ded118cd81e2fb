"""A feed cannot grow without bound (issue 18, item 9): an entry that comes back under a new
GUID with the same title and link is an update, and each feed's unread articles are capped
(oldest first, never starred, clicked or judged ones; purged ones stay buried)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.services.profile import Profile
from app.storage import articles, events, feeds
from app.storage.record import IncomingArticle, UpsertResult

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    with Profile(tmp_path / "p") as opened:
        yield opened


def _items(fetch: int, count: int, *, first: int = 0) -> list[IncomingArticle]:
    """Items ``first``..``first+count-1``; each fetch gives every item a new GUID."""
    return [
        IncomingArticle(
            dedup_key=f"guid-{fetch}-{n}",
            url=f"https://example.org/{n}",
            title=f"Story {n}",
            summary_html="",
            summary_text="",
            author=None,
            published=NOW - timedelta(minutes=n),
        )
        for n in range(first, first + count)
    ]


def _store(profile: Profile, feed_id: int, items: list[IncomingArticle]) -> UpsertResult:
    with profile.db.write() as s:
        return articles.upsert_articles(s, feed_id, items, NOW)


def _feed(profile: Profile) -> int:
    with profile.db.write() as s:
        return feeds.add_feed(s, "https://example.org/feed.xml").id


def _count(profile: Profile, **filters: object) -> int:
    with profile.db.read() as s:
        return len(articles.list_articles(s, limit=100_000, **filters))  # type: ignore[arg-type]


def test_guid_churn_is_an_update_not_a_new_article(profile: Profile) -> None:
    feed_id = _feed(profile)
    assert _store(profile, feed_id, _items(0, 50)).new == 50
    with profile.db.write() as s:
        first = articles.list_articles(s, limit=1)[0]
        articles.set_read(s, [first.id], True)
    for fetch in range(1, 10):
        result = _store(profile, feed_id, _items(fetch, 50))
        assert result.new == 0
    assert _count(profile) == 50
    with profile.db.read() as s:
        again = articles.get_article(s, first.id)
    assert again is not None and again.read, "the read flag survives the new GUID"


def test_same_title_and_link_beside_its_original_is_a_new_item(profile: Profile) -> None:
    feed_id = _feed(profile)
    _store(profile, feed_id, _items(0, 1))
    both = [*_items(0, 1), *_items(1, 1)]  # the original GUID and another, in one fetch
    assert _store(profile, feed_id, both).new == 1


def test_unread_articles_are_capped_per_feed(profile: Profile) -> None:
    feed_id = _feed(profile)
    other = _store(profile, _feed_other(profile), _items(0, 40)).new
    with profile.db.write() as s:
        events.set_setting(s, articles.UNREAD_CAP_SETTING, "30")
    kept = _store(profile, feed_id, _items(0, 20, first=30))  # the older twenty
    assert kept.new == 20
    with profile.db.write() as s:
        oldest = [a.id for a in articles.list_articles(s, feed_id=feed_id, limit=100)][-3:]
        articles.set_starred(s, oldest[0], True)
        events.record_click(s, oldest[1], "session", NOW)
        events.record_feedback(s, "less", NOW, article_id=oldest[2])
        articles.set_read(s, [oldest[1]], False)
    result = _store(profile, feed_id, _items(0, 30))  # thirty newer: 50 unread, 20 too many
    assert result.new == 30
    assert _count(profile, feed_id=feed_id, unread_only=True) == 30 + 3  # the three are kept
    assert len(result.new_ids) == result.new
    with profile.db.read() as s:
        for article_id in oldest:
            assert articles.get_article(s, article_id) is not None
    assert _count(profile, unread_only=True) - _count(profile, feed_id=feed_id) == other
    # purged articles never come back, by their GUID or under a new one
    assert _store(profile, feed_id, _items(0, 50)).new == 0
    assert _store(profile, feed_id, _items(7, 50)).new == 0
    assert _count(profile, feed_id=feed_id) == 33


def _feed_other(profile: Profile) -> int:
    with profile.db.write() as s:
        return feeds.add_feed(s, "https://example.org/other.xml").id


def test_the_cap_has_a_default_and_can_be_turned_off(profile: Profile) -> None:
    with profile.db.write() as s:
        assert articles.unread_cap(s) == articles.DEFAULT_UNREAD_CAP
        events.set_setting(s, articles.UNREAD_CAP_SETTING, "0")
        assert articles.unread_cap(s) is None
        events.set_setting(s, articles.UNREAD_CAP_SETTING, "lots")
        assert articles.unread_cap(s) == articles.DEFAULT_UNREAD_CAP


def test_articles_retention_purged_stay_buried_under_a_new_guid(profile: Profile) -> None:
    feed_id = _feed(profile)
    _store(profile, feed_id, _items(0, 5))
    with profile.db.write() as s:
        ids = [a.id for a in articles.list_articles(s, limit=10)]
        articles.set_read(s, ids, True, now=NOW - timedelta(days=90))
        assert articles.purge_old(s, NOW, 30) == 5
    assert _store(profile, feed_id, _items(3, 5)).new == 0
    assert _count(profile) == 0
