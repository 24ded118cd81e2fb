"""Impressions, clicks, model versions and settings."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from app.storage.articles import upsert_articles
from app.storage.database import Database, NotFoundError
from app.storage.events import (
    add_model_version,
    click_history,
    clicks_since,
    get_setting,
    impressions,
    latest_model_version,
    list_model_versions,
    record_click,
    record_impressions,
    set_setting,
)
from app.storage.feeds import add_feed
from app.storage.setting import delete_setting
from tests.unit.storage.sample import NOW, item


@pytest.fixture
def ids(db: Database) -> tuple[int, ...]:
    with db.write() as s:
        feed = add_feed(s, "https://example.org/feed.xml").id
        return upsert_articles(s, feed, [item(f"k{n}") for n in range(4)], NOW).new_ids


def test_impressions_once_per_session(db: Database, ids: tuple[int, ...]) -> None:
    a, b, c, _ = ids
    with db.write() as s:
        assert record_impressions(s, [(a, 0), (b, 1), (a, 5), (999, 2)], "s1", NOW) == 2
        later = NOW + timedelta(seconds=30)
        assert record_impressions(s, [(a, 3), (c, None)], "s1", later) == 1
        assert record_impressions(s, [(a, 0)], "s2", later) == 1
        assert record_impressions(s, [], "s2", later) == 0
    with db.read() as s:
        seen = impressions(s)
        assert [(i.article_id, i.session, i.position) for i in seen] == [
            (a, "s1", 0),
            (b, "s1", 1),
            (c, "s1", None),
            (a, "s2", 0),
        ]
        assert seen[0].time == NOW and seen[0].time.tzinfo is not None
        since = impressions(s, since=NOW + timedelta(seconds=1))
        assert [(i.article_id, i.session) for i in since] == [(c, "s1"), (a, "s2")]


def test_click_history_is_oldest_first(db: Database, ids: tuple[int, ...]) -> None:
    a, b, c, _ = ids
    with db.write() as s:
        late = record_click(s, a, "s2", NOW + timedelta(hours=1), dwell=12.5)
        early = record_click(s, b, "s1", NOW, dwell=None)
        same_time = record_click(s, c, "s1", NOW, dwell=-3.0)
        record_click(s, c, "s1", NOW + timedelta(hours=2), dwell=math.nan)
        with pytest.raises(NotFoundError):
            record_click(s, 999, "s1", NOW)
    with db.read() as s:
        history = click_history(s)
        assert [c_.id for c_ in history[:3]] == [early, same_time, late]
        assert [c_.article_id for c_ in history] == [b, c, a, c]
        assert [c_.dwell for c_ in history] == [None, None, 12.5, None]
        assert history[2].time == NOW + timedelta(hours=1)
        assert history[2].session == "s2"
        assert clicks_since(s, 0) == 4
        assert clicks_since(s, late) == 3
        assert clicks_since(s, same_time) == 1
        assert clicks_since(s, max(c_.id for c_ in history)) == 0


def test_model_versions(db: Database) -> None:
    with db.write() as s:
        assert latest_model_version(s) is None
        first = add_model_version(s, "models/1.pt", "a" * 64, NOW, 10, {"auc": 0.61, "note": "x"})
        second = add_model_version(
            s,
            "models/2.pt",
            "b" * 64,
            NOW + timedelta(hours=1),
            25,
            {"auc": 0.7, "epochs": 3, "ok": True, "loss": None, "bad": [1, 2]},  # type: ignore[dict-item]
        )
    with db.read() as s:
        assert latest_model_version(s) == second
        assert list_model_versions(s) == [first, second]
    assert first.metrics == {"auc": 0.61, "note": "x"}
    assert second.metrics == {"auc": 0.7, "epochs": 3, "ok": 1, "loss": None}
    assert (second.path, second.clicks_used, second.created) == (
        "models/2.pt",
        25,
        NOW + timedelta(hours=1),
    )


def test_settings(db: Database) -> None:
    with db.write() as s:
        assert get_setting(s, "theme") is None
        assert get_setting(s, "theme", "light") == "light"
        set_setting(s, "theme", "dark")
        set_setting(s, "theme", "sepia")
        set_setting(s, "empty", "")
    with db.read() as s:
        assert get_setting(s, "theme", "light") == "sepia"
        assert get_setting(s, "empty", "x") == ""
    with db.write() as s:
        delete_setting(s, "theme")
        delete_setting(s, "never")
        assert get_setting(s, "theme") is None
