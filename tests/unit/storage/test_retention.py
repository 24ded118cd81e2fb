"""Retention: counts from when an article was read, and keeps what the reader's signal needs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.storage.articles import get_article, mark_all_read, purge_old, set_read, upsert_articles
from app.storage.database import Database
from app.storage.events import record_click, record_impressions
from app.storage.feeds import add_feed
from app.storage.schema import Article, Click, Feedback, Impression
from tests.unit.storage.sample import NOW, item


@pytest.fixture
def feed_id(db: Database) -> int:
    with db.write() as s:
        return add_feed(s, "https://example.org/feed.xml", title="Example").id


def _add(db: Database, feed_id: int, *keys: str, age_days: float = 3000) -> list[int]:
    with db.write() as s:
        return list(
            upsert_articles(s, feed_id, [item(k, age_days=age_days) for k in keys], NOW).new_ids
        )


def _left(db: Database) -> set[int]:
    with db.read() as s:
        return set(s.scalars(select(Article.id)))


def _negatives(db: Database) -> int:
    """Impressions that share a screen with a click but are not the clicked article."""
    with db.read() as s:
        query = (
            select(func.count())
            .select_from(Impression)
            .join(Click, Click.session == Impression.session)
            .where(Impression.article_id != Click.article_id)
        )
        return int(s.scalar(query) or 0)


def test_an_old_article_read_a_minute_ago_is_kept(db: Database, feed_id: int) -> None:
    [ancient] = _add(db, feed_id, "2016", age_days=3650)
    with db.write() as s:
        set_read(s, [ancient], True, now=NOW - timedelta(minutes=1))
        assert purge_old(s, NOW, 30) == 0
        assert purge_old(s, NOW + timedelta(days=29), 30) == 0
        assert purge_old(s, NOW + timedelta(days=31), 30) == 1


def test_read_time_is_stamped_and_cleared(db: Database, feed_id: int) -> None:
    a, b = _add(db, feed_id, "a", "b")
    with db.write() as s:
        set_read(s, [a], True, now=NOW)
        assert mark_all_read(s, upto=NOW + timedelta(hours=1)) == 1
        stamps = {row[0]: row[1] for row in s.execute(select(Article.id, Article.read_at))}
        assert stamps == {a: NOW, b: NOW + timedelta(hours=1)}
        set_read(s, [a], False)
        assert s.scalar(select(Article.read_at).where(Article.id == a)) is None


def test_read_before_the_upgrade_counts_from_the_first_purge(db: Database, feed_id: int) -> None:
    [legacy] = _add(db, feed_id, "legacy")
    with db.write() as s:
        s.execute(update(Article).values(read=True, read_at=None))
        assert purge_old(s, NOW, 30) == 0  # publication date is ignored
        assert s.scalar(select(Article.read_at).where(Article.id == legacy)) == NOW
        assert purge_old(s, NOW + timedelta(days=30, seconds=1), 30) == 1


def test_feedback_keeps_an_article(db: Database, feed_id: int) -> None:
    judged, plain = _add(db, feed_id, "judged", "plain")
    with db.write() as s:
        set_read(s, [judged, plain], True, now=NOW - timedelta(days=60))
        s.add(Feedback(kind="less", article_id=judged, time=NOW))
        s.flush()
        assert purge_old(s, NOW, 30) == 1
    assert _left(db) == {judged}


def test_purge_keeps_the_negatives_of_kept_clicks(db: Database, feed_id: int) -> None:
    """The rows passed over on a clicked screen stay, so training keeps its negatives."""
    ids = _add(db, feed_id, *(f"k{i}" for i in range(8)))
    clicked, above, beside, elsewhere, visible_only, *rest = ids
    with db.write() as s:
        record_impressions(s, [(above, 0), (clicked, 1), (beside, 2)], "screen-1", NOW)
        record_impressions(s, [(elsewhere, 0)], "screen-2", NOW)  # no click on this screen
        record_click(s, clicked, "screen-1", NOW)
        s.execute(update(Click).values(visible=json.dumps([above, clicked, visible_only])))
        set_read(s, ids, True, now=NOW - timedelta(days=60))
    before = _negatives(db)
    assert before == 2
    with db.write() as s:
        assert purge_old(s, NOW, 30) == 1 + len(rest)
    assert _left(db) == {clicked, above, beside, visible_only}
    assert _negatives(db) == before


def test_unread_articles_stay_unless_asked(db: Database, feed_id: int) -> None:
    [unread] = _add(db, feed_id, "unread")
    later = NOW + timedelta(days=400)
    with db.write() as s:
        assert purge_old(s, later, 30) == 0
        assert purge_old(s, later, 30, unread_days=500) == 0
        assert purge_old(s, later, 30, unread_days=365) == 1
        assert get_article(s, unread) is None
        with pytest.raises(ValueError, match="unread_days"):
            purge_old(s, later, 30, unread_days=-1)


def test_copies_of_a_purged_story_become_their_own(db: Database, feed_id: int) -> None:
    canonical, copy = _add(db, feed_id, "canonical", "copy")
    with db.write() as s:
        set_read(s, [canonical], True, now=NOW - timedelta(days=60))
        set_read(s, [copy], True, now=NOW)
        s.execute(update(Article).where(Article.id == copy).values(story_id=canonical))
        assert purge_old(s, NOW, 30) == 1
        assert s.scalar(select(Article.story_id).where(Article.id == copy)) is None
