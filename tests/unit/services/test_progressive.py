"""For you over a large pool of new articles, ranked a slice at a time: the model host ranks the
newest first and each later first page of For you takes in one slice more. While it runs, every
view reads one table (a row's number is the one "Why this?" gives); when it is done, For you is
the order, and every score the number, that one ranking of the whole pool gives.

A small untrained model (no GloVe, made in a second) stands in for a trained one, and chunks of
5 titles stand in for 16,384, so 48 unread articles take several slices.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from app.services import activity, ranking
from app.services import model as model_service
from app.services.cache import VectorCache
from app.services.model import cache_path
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.services.river import River
from app.storage import articles
from tests.modelled import modelled_profile

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHUNK = 5


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    """Three feeds of 20 articles, 12 of them opened, and a model version without vectors."""
    with modelled_profile(tmp_path / "profile", seed=3, per_feed=20, hours=3, now=NOW) as profile:
        yield profile


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freshness at one moment for every ranking of a test, and chunks of CHUNK titles."""
    monkeypatch.setattr(ranking, "_now", lambda: NOW)
    monkeypatch.setattr(model_service, "ENCODE_CHUNK", CHUNK)


def pool(profile: Profile) -> list[int]:
    with profile.db.read() as s:
        return articles.unread_ids(s)


def for_you(ranker: Ranker) -> River:
    river = ranker.river(ranked=True, limit=1000)
    assert river.mode == "ranked"
    return river


def rows(river: River) -> tuple[list[int], list[float]]:
    return [i.article.id for i in river.items], [float(i.score or 0.0) for i in river.items]


def test_for_you_ranked_in_slices_ends_as_one_ranking_of_the_pool(profile: Profile) -> None:
    """The newest slice first, one more per first page; then the order and the numbers of a
    ranker that encoded the whole pool at once, bit for bit (the slices are whole chunks)."""
    unread = pool(profile)
    assert len(unread) == 48
    progressive = Ranker(profile, progressive=True)
    river = for_you(progressive)
    waiting = [river.unranked]
    shown = [rows(river)[0]]
    while river.unranked:
        river = for_you(progressive)
        waiting.append(river.unranked)
        shown.append(rows(river)[0])
    assert waiting == [43, 33, 23, 13, 3, 0]  # CHUNK, then 2 * CHUNK at a time
    assert set(shown[0]) == set(unread[:CHUNK])  # the newest first
    assert all(len(ids) == len(unread) - w for ids, w in zip(shown, waiting, strict=True))
    final = rows(river)
    assert cache_path(profile, 1).exists()  # written once, after the last slice

    cache_path(profile, 1).unlink()
    whole = Ranker(profile)  # encodes the pool at once
    once = for_you(whole)
    assert once.unranked == 0
    assert rows(once) == final
    a, b = progressive._locked_current(), whole._locked_current()
    assert a is not None and b is not None
    mine, theirs = a.cache.rows(unread), b.cache.rows(unread)
    assert mine is not None and theirs is not None
    assert np.array_equal(mine, theirs)


def test_while_ranking_every_view_reads_one_score(profile: Profile) -> None:
    """Halfway, For you's rows carry the numbers that scores() and "Why this?" give, and an
    article not ranked yet is left out of For you and scored as if ranked among the rest."""
    progressive = Ranker(profile, progressive=True)
    river = for_you(progressive)
    river = for_you(progressive)
    assert river.unranked
    ids, scores = rows(river)
    waiting = [a for a in pool(profile) if a not in ids]
    assert len(waiting) == river.unranked
    assert progressive.scores(ids) == dict(zip(ids, scores, strict=True))
    assert progressive.explain(ids[3]).ranked_score == pytest.approx(scores[3], abs=1e-12)
    outside = waiting[-1]
    score = progressive.scores([outside])[outside]
    assert progressive.explain(outside).ranked_score == pytest.approx(score, abs=1e-12)
    assert progressive.ranked_score(outside)[0].total == pytest.approx(score, abs=1e-12)


def test_a_click_while_ranking_is_felt_and_the_ranking_goes_on(profile: Profile) -> None:
    """An open halfway moves the reader vector at once; the slices go on from the pool as it
    now is, and end where a ranking of that pool ends (to float rounding: the opened article
    had been encoded in the first chunk, which a ranking now would not hold)."""
    progressive = Ranker(profile, progressive=True)
    river = for_you(progressive)
    opened = river.items[0].article.id
    activity.record_click(profile.db, opened, "later", dwell=30.0)
    river = for_you(progressive)
    assert opened not in rows(river)[0]
    while river.unranked:
        river = for_you(progressive)
    ids, scores = rows(river)
    assert sorted(ids) == sorted(pool(profile))
    assert progressive.scores(ids) == dict(zip(ids, scores, strict=True))
    cache_path(profile, 1).unlink()
    once = dict(zip(*rows(for_you(Ranker(profile))), strict=True))
    assert scores == pytest.approx([once[a] for a in ids], abs=1e-3)


def test_a_ranker_for_commands_ranks_the_whole_pool_at_once(profile: Profile) -> None:
    """``list --ranked`` and ``explain`` in a fresh process never see a part of the pool."""
    river = for_you(Ranker(profile))
    assert river.unranked == 0
    assert len(river.items) == len(pool(profile))


def test_a_slice_is_not_written_until_the_last(tmp_path: Path) -> None:
    """Vectors added without saving are served at once and reach the file with the next save."""
    cache = VectorCache(tmp_path / "vectors-1.npz")
    cache.add([3, 1], np.ones((2, 4), np.float32), np.array([0.5, 0.25]), save=False)
    assert not cache.path.exists()
    assert cache.has(np.array([1, 2, 3], np.int64)).tolist() == [True, False, True]
    cache.add([2], np.zeros((1, 4), np.float32))
    again = VectorCache.load(cache.path)
    assert again.has(np.array([1, 2, 3], np.int64)).all()
    assert again.lexical([3, 1, 2]) == pytest.approx([0.5, 0.25, 0.0])
