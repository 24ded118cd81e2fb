"""A feed the reader has hardly been shown: For you keeps its best article just under the top
until its headlines have been on screen, says why in "Why this?", and the number is the one
every view shows.

A small untrained model (no GloVe, made in a second) with fitted-looking feed biases stands in
for a trained one: the rule is about which feed gets a look, not how good the model is.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.services import activity, ranking
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.score import EXPLORE_SHOWN, TOP
from app.storage import articles, events
from tests.modelled import biased_version, made_up_feeds

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freshness is taken at one moment for every view of a test."""
    monkeypatch.setattr(ranking, "_now", lambda: NOW)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Three feeds the reader reads (every headline shown, some opened) and a fourth, never
    shown, whose feed bias (below the others') sinks all its articles under theirs."""
    path = tmp_path / "profile"
    rng = random.Random(5)
    with Profile(path) as profile:
        by_feed = made_up_feeds(profile, rng, (40, 40, 40, 12), hours=3, now=datetime.now(UTC))
        read = [a for ids in by_feed[:3] for a in ids]
        activity.record_impressions(profile.db, [(a, i) for i, a in enumerate(read)], "seen")
        for chosen in by_feed[0][:4] + by_feed[1][:4] + by_feed[2][:4]:
            activity.record_click(profile.db, chosen, "seen", dwell=30.0)
        biased_version(profile, (1.0, 1.0, 1.0, -3.0), clicks=12)
    return path


def quiet_feed(ranker: Ranker) -> list[tuple[int, int, float]]:
    """(rank, id, score) of Feed 3's articles in For you, best first."""
    items = ranker.river(ranked=True, limit=500).items
    return [
        (rank, i.article.id, i.score)
        for rank, i in enumerate(items)
        if i.article.feed_title == "Feed 3"
    ]


def test_a_feed_never_shown_gets_a_look_just_under_the_top(root: Path) -> None:
    with Profile(root) as profile:
        ranker = Ranker(profile)
        shown = quiet_feed(ranker)
        (rank, best, score), (second, *_) = shown[0], shown[1]
        assert TOP <= rank < TOP + 10  # just under the top, not under 108 articles
        assert second > 100  # only its best: the others keep the scores' order
        e = ranker.explain(best)
        assert e.exploring and e.spreading > 0 and e.ranked == score
        assert "hardly been shown" in e.summary()
        assert e.as_dict()["exploring"] is True
        assert not ranker.explain(shown[1][1]).exploring

        # once ten of its headlines have been on screen, it is known: no more look
        ten = [a for _, a, _ in shown][:EXPLORE_SHOWN]
        activity.record_impressions(profile.db, [(a, i) for i, a in enumerate(ten)], "later")
        after = quiet_feed(Ranker(profile))
        assert after[0][0] > 100
        assert not Ranker(profile).explain(best).exploring


def test_a_feed_said_to_be_less_wanted_gets_no_look(root: Path) -> None:
    with Profile(root) as profile:
        ranker = Ranker(profile)
        rank, best, _ = quiet_feed(ranker)[0]
        assert rank < TOP + 10
        with profile.db.read() as s:
            (article,) = articles.list_articles(s, ids=[best], limit=1, unread_only=False)
            feed = article.feed_id
        with profile.db.write() as s:
            events.record_feedback(s, "feed_less", datetime.now(UTC), feed_id=feed)
        assert quiet_feed(ranker)[0][0] > 100  # at once, not when the scores are next due


def test_a_feed_read_only_in_its_own_view_gets_a_look_until_shown_beside_others(
    root: Path,
) -> None:
    with Profile(root) as profile:
        ids = [a for _, a, _ in quiet_feed(Ranker(profile))]
        with profile.db.read() as s:
            (article,) = articles.list_articles(s, ids=ids[:1], limit=1, unread_only=False)
        own = activity.new_screen(
            profile.db, "feed", filter={"feed": article.feed_id}, multi_feed=False
        )
        activity.record_impressions(profile.db, [(a, i) for i, a in enumerate(ids)], own)
        activity.record_click(profile.db, ids[-1], own, dwell=30.0)
        rank, best, _ = quiet_feed(Ranker(profile))[0]
        assert TOP <= rank < TOP + 10  # read in its own view: never weighed against the others
        assert Ranker(profile).explain(best).exploring

        latest = activity.new_screen(profile.db, "latest")
        ten = ids[:EXPLORE_SHOWN]
        activity.record_impressions(profile.db, [(a, i) for i, a in enumerate(ten)], latest)
        assert quiet_feed(Ranker(profile))[0][0] > 100
