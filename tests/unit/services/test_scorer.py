"""A click felt at once: after an open or a "more / less like this", For you is rescored from
the pool's cached parts with the new reader vector, and that gives the order (and the numbers)
a full rescore of the same history gives.

A small untrained model (no GloVe, made in a second) stands in for a trained one: the rule is
about where numbers come from, not how good they are.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from app.services import activity, feedback, ranking
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.storage import articles, events, feeds
from app.storage.record import IncomingArticle
from tests.modelled import modelled_profile

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    """Three feeds of 40 articles, 12 opens and a model version."""
    with modelled_profile(tmp_path / "profile", seed=5, per_feed=40, hours=2, now=NOW) as profile:
        yield profile


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freshness is taken at one moment for every ranking of a test."""
    monkeypatch.setattr(ranking, "_now", lambda: NOW)


def order(ranker: Ranker) -> tuple[list[int], list[float]]:
    river = ranker.river(ranked=True, limit=1000)
    assert river.mode == "ranked"
    return [i.article.id for i in river.items], [float(i.score or 0.0) for i in river.items]


def rescored(ranker: Ranker, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[float]]:
    """For you's order by ``ranker``, which must not list the pool again to give it."""

    def listed(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pool was listed again instead of cut down")

    with monkeypatch.context() as patch:
        patch.setattr(ranker, "_list_pool", listed)
        return order(ranker)


def test_an_open_rescores_the_cached_pool_as_a_full_rescore_does(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranker = Ranker(profile)
    before, _ = order(ranker)
    opened = before[len(before) // 2]
    activity.record_click(profile.db, opened, "later", dwell=20.0)  # also marks it read
    after, scores = rescored(ranker, monkeypatch)
    full, full_scores = order(Ranker(profile))  # a new ranker lists and scores everything
    assert opened not in after
    assert after == full
    assert scores == pytest.approx(full_scores, abs=1e-6)
    assert after != [a for a in before if a != opened]  # the open moved the ranking
    assert ranker._history()[-1] == opened


@pytest.mark.parametrize("kind", ["more", "less"])
def test_a_judgement_moves_the_reader_vector_at_once(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    ranker = Ranker(profile)
    before, _ = order(ranker)
    history = ranker._history()
    # "more" on an unread article adds it to the history; "less" takes an opened one out
    subject = before[3] if kind == "more" else history[-2]
    feedback.give(profile.db, kind, article_id=subject)
    after, scores = rescored(ranker, monkeypatch)
    full, full_scores = order(Ranker(profile))
    assert after == full
    assert scores == pytest.approx(full_scores, abs=1e-6)
    assert after != before
    if kind == "more":
        assert ranker._history() == (*history, subject)
    else:
        assert ranker._history() == tuple(a for a in history if a != subject)


def test_a_new_article_lists_the_pool_again(profile: Profile) -> None:
    ranker = Ranker(profile)
    order(ranker)
    pool = ranker._pool
    assert pool is not None
    grown = np.append(pool.ids, pool.ids.max() + 1)
    assert pool.within(pool.version, grown, NOW) is None  # an article it does not hold
    assert pool.within(pool.version, pool.ids[::-1].copy(), NOW) is None  # another order
    assert pool.within(pool.version + 1, pool.ids, NOW) is None  # another model
    assert pool.within(pool.version, pool.ids, NOW + ranking.TABLE_TTL) is None  # too old
    cut = pool.within(pool.version, pool.ids[::2].copy(), NOW)
    assert cut is not None and cut.ids.tolist() == pool.ids[::2].tolist()
    assert cut.feeds.tolist() == pool.feeds[::2].tolist()


def test_the_history_is_the_clicks_a_round_trains_on(tmp_path: Path) -> None:
    """Read from the latest clicks only, the history is still the tail of the positives
    :func:`app.services.signal.build` gives a round from the whole log: repeated opens, a
    "less like this" that takes an open out, a "more like this" on an article never opened
    (and one on an opened article, which changes nothing)."""
    from app.services import signal
    from app.services.loader import HISTORY

    rng = random.Random(11)
    with Profile(tmp_path / "history") as profile:
        with profile.db.write() as s:
            feed = feeds.add_feed(s, "https://feeds.example.org/h.xml", title="H")
            items = [
                IncomingArticle(
                    dedup_key=f"h-{n}",
                    url=f"https://example.org/h/{n}",
                    title=f"Story number {n}",
                    summary_html="<p>s</p>",
                    summary_text="s",
                    author=None,
                    published=NOW - timedelta(hours=n),
                )
                for n in range(400)
            ]
            ids = articles.upsert_articles(s, feed.id, items, NOW).new_ids
        ranker = Ranker(profile, load_models=False)

        def expected() -> tuple[int, ...]:
            with profile.db.read() as s:
                clicks = events.click_history(s)
                given = events.feedback(s)
            titled = set(ids)
            reads = [c.article_id for c in signal.build(clicks, (), given, titled).clicks]
            return tuple(dict.fromkeys(reversed(reads)))[:HISTORY][::-1]

        with profile.db.write() as s:  # 60 distinct opens, then 250 among ten articles
            opens = [*ids[100:160], *[rng.choice(ids[:10]) for _ in range(5 * HISTORY)]]
            for n, article in enumerate(opens):  # more than the first read of the latest
                when = NOW - timedelta(minutes=len(opens) - n)
                events.record_click(s, article, f"s{n}", when)
        assert ranker._history() == expected()
        with profile.db.read() as s:
            recent = [a for a, _ in events.latest_clicks(s, 30)]
        feedback.give(profile.db, "less", article_id=recent[0])
        feedback.give(profile.db, "less", article_id=recent[7])
        feedback.give(profile.db, "more", article_id=ids[300])
        feedback.give(profile.db, "more", article_id=ids[301])
        feedback.give(profile.db, "more", article_id=ids[300])
        feedback.give(profile.db, "more", article_id=recent[20])  # opened already
        history = ranker._history()
        assert history == expected()
        assert recent[0] not in history and ids[300] in history
        assert len(history) == HISTORY


def test_a_first_for_you_encoded_in_chunks_scores_as_a_rescore_from_the_cache(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh model's first For you encodes the pool a chunk at a time (the tokeniser's memo
    emptied after each) into the cache it scores from: a ranker that only reads the saved
    cache gives the same order and the same numbers, and the vectors are those of one
    encode of every title."""
    from app.services import model as model_service

    monkeypatch.setattr(model_service, "ENCODE_CHUNK", 7)  # 120 unread: many chunks
    first = Ranker(profile)
    fresh, fresh_scores = order(first)
    loaded = first._locked_current()
    assert loaded is not None and len(loaded.cache) >= len(fresh)

    def encoded(*args: object, **kwargs: object) -> None:
        raise AssertionError("the saved cache was encoded again")

    monkeypatch.setattr(model_service, "ENCODE_CHUNK", 1 << 20)
    with monkeypatch.context() as patch:
        patch.setattr("app.services.loader.encode", encoded)
        again, again_scores = order(Ranker(profile))  # scores everything from the file
    assert again == fresh
    assert again_scores == fresh_scores
    texts = first._texts(fresh)
    whole = loaded.model.encode([texts[a][0] for a in fresh], [texts[a][1] for a in fresh])
    rows = loaded.cache.rows(fresh)
    assert rows is not None
    np.testing.assert_allclose(rows, whole, atol=1e-2)
