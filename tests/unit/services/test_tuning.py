"""A training round under the guard: judged beside the model in use, rejected rounds logged
and never used, ClickBias ranking when no trained model earns its keep."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.services import activity, guard
from app.services.model import checkpoint_path
from app.services.profile import Profile
from app.services.ranking import Ranker
from app.storage import articles, events
from harness.sample import seed_profile

CLICKS = 24


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    """24 clicks, each from a screen of its own with five rows passed over above it."""
    root = tmp_path / "profile"
    seed_profile(root, feed_count=3, per_feed=30, clicks=0)
    with Profile(root) as p:
        with p.db.read() as s:
            ids = sorted(articles.article_titles(s))
        rest = ids[CLICKS:]
        for i, chosen in enumerate(ids[:CLICKS]):
            above = [rest[(i * 5 + k) % len(rest)] for k in range(5)]
            activity.record_click(p.db, chosen, f"screen-{i}", dwell=20.0, shown_above=above)
        install_tiny_model(p)
        yield p


def install_tiny_model(profile: Profile) -> None:
    """Record a first model version: small, untrained and without GloVe, so rounds are quick
    (its config travels in the checkpoint, so every round fine-tunes the same small model)."""
    from nrms_core.config import NRMSConfig
    from nrms_core.recommender import Recommender

    config = NRMSConfig(heads=2, head_dim=4, query_dim=8, max_title=12, cross_fit=0)
    with profile.db.read() as s:
        titles = articles.article_titles(s)
    model = Recommender.create(config, pretrained=False, seed=0)
    model.add_titles(titles.values())
    path = profile.paths.models / "model-00001.pt"
    sha = model.save(path, meta={"clicks_used": 0})
    with profile.db.write() as s:
        events.add_model_version(s, path.name, sha, datetime.now(UTC), 0, {})


def forced(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    """Make the guard decide as ``changes`` say, after computing its figures for real."""
    real = guard.judge

    def judge(new: Any, **kwargs: Any) -> guard.Verdict:
        return dataclasses.replace(real(new, **kwargs), **changes)

    monkeypatch.setattr(guard, "judge", judge)


def versions(profile: Profile) -> list[int]:
    with profile.db.read() as s:
        return [v.id for v in events.list_model_versions(s)]


def test_a_rejected_round_is_logged_and_never_becomes_the_model_in_use(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard, "MIN_HELD_OUT", 2)  # judge the few held-out clicks of a test
    monkeypatch.setattr(guard, "MIN_CANDIDATES", 4)
    forced(
        monkeypatch,
        decision=guard.REJECTED,
        reason="rejected: worse than the model in use (forced)",
        publish=None,
        mode=guard.MODEL,
    )
    ranker = Ranker(profile)
    report = ranker.train(epochs=1)
    assert report.decision == guard.REJECTED and not report.published
    assert report.version == 1 and "forced" in report.summary()
    assert report.as_dict()["reason"] == "rejected: worse than the model in use (forced)"
    assert versions(profile) == [1]
    with profile.db.read() as s:
        latest = events.latest_model_version(s)
    assert latest is not None and latest.id == 1
    assert ranker.river(ranked=True, limit=5).mode == "ranked"  # still ranked by version 1
    (logged,) = guard.rounds(profile.db)
    assert logged.decision == guard.REJECTED and not logged.published and logged.version == 1
    assert logged.figure is not None and logged.current is not None  # judged beside it
    assert logged.clickbias is not None and logged.held_out >= 2
    assert logged.last_click_id > 0


def test_when_no_model_earns_its_keep_for_you_ranks_by_clickbias_and_says_so(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    forced(
        monkeypatch,
        decision=guard.REJECTED,
        reason="rejected: not better than chance (0.40); For you ranks by ClickBias",
        publish=guard.CLICKBIAS,
        mode=guard.CLICKBIAS,
        too_few=False,
    )
    ranker = Ranker(profile)
    report = ranker.train(epochs=1)
    assert report.published and report.ranking_mode == guard.CLICKBIAS
    assert versions(profile) == [1, 2]
    from nrms_core.recommender import Recommender

    with profile.db.read() as s:
        version = events.latest_model_version(s)
    assert version is not None and version.metrics["ranking"] == guard.CLICKBIAS
    assert Recommender.load(checkpoint_path(profile, version)).scale == 0.0  # biases alone
    river = ranker.river(ranked=True, limit=5)
    assert river.mode == "ranked" and river.notice == guard.NOTICES[guard.CLICKBIAS]
    explained = ranker.explain(river.items[0].article.id)  # the biases alone explain the score
    assert all(h.share == 0.0 for h in explained.history)


def test_a_round_with_too_few_held_out_clicks_that_fits_its_clicks_is_published(
    profile: Profile,
) -> None:
    ranker = Ranker(profile)
    report = ranker.train(epochs=1)  # 24 clicks hold out 4: too few to judge
    assert report.too_few_held_out and report.decision == guard.PUBLISHED
    assert "too few held-out clicks" in report.summary()
    assert versions(profile) == [1, 2]
    (logged,) = guard.rounds(profile.db)
    assert logged.too_few and logged.decision == guard.PUBLISHED
    # the round's weights are kept, but until a round is judged the biases rank alone
    assert report.ranking_mode == logged.mode == guard.CLICKBIAS
    from nrms_core.recommender import Recommender

    with profile.db.read() as s:
        version = events.latest_model_version(s)
    assert version is not None and Recommender.load(checkpoint_path(profile, version)).scale == 0
    river = ranker.river(ranked=True, limit=5)
    assert river.mode == "ranked" and river.notice == guard.UNJUDGED_NOTICE


def test_latest_mode_shows_latest_with_its_line(profile: Profile) -> None:
    with profile.db.write() as s:
        events.set_setting(s, guard.MODE_KEY, guard.LATEST)
    river = Ranker(profile).river(ranked=True, limit=5)
    assert river.mode == "latest" and river.notice == guard.NOTICES[guard.LATEST]


def test_the_clickbias_fallback_and_the_model_in_use_are_fitted_on_the_round_s_feed_prior(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed prior (what the reader's opens say about each feed beyond the screens) is
    what lets a reader who opens feed by feed keep those feeds on top: refitting the model in
    use's biases without it, for its figure or for the ClickBias fallback, would throw it away."""
    from nrms_core.recommender import Recommender

    forced(
        monkeypatch,
        decision=guard.REJECTED,
        reason="rejected: not better than chance (forced); For you ranks by ClickBias",
        publish=guard.CLICKBIAS,
        mode=guard.CLICKBIAS,
    )
    seen: list[dict[str, float]] = []
    real = Recommender.keep_bias_only

    def keep_bias_only(self: Recommender, *args: Any, **kwargs: Any) -> Any:
        seen.append(dict(self.feed_prior))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Recommender, "keep_bias_only", keep_bias_only)
    report = Ranker(profile).train(epochs=1)
    assert report.ranking_mode == guard.CLICKBIAS
    (prior,) = seen
    assert prior and any(value != 0.0 for value in prior.values())


def test_a_round_learns_from_its_budget_of_samples_and_all_of_them_while_they_fit(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nrms_core
    from nrms_core import budget

    whole = Ranker(profile).train(epochs=1)
    assert whole.samples == CLICKS  # under the budget: every click, as before
    real = budget.bounded
    bounds: list[int] = []

    def small(items: Any, **kwargs: Any) -> Any:
        chosen = real(items, budget=12, recent=6, seed=kwargs["seed"])
        bounds.append(len(chosen))
        return chosen

    monkeypatch.setattr(nrms_core, "bounded", small)
    report = Ranker(profile).train(epochs=1)
    assert report.samples == 12 and bounds == [12, 12]  # the samples and the bias sessions


def test_a_default_round_runs_at_most_the_epochs_its_samples_allow(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's round (no ``epochs`` given) caps samples x epochs: with room for two passes
    over its 24 samples it runs two epochs, where patience alone would run six or more."""
    from nrms_core import budget
    from nrms_core.trainer import Trainer

    epochs: list[int] = []
    real = Trainer.fit

    def logged(self: Trainer, samples: Any) -> Any:
        epochs.append(self.epochs)
        return real(self, samples)

    monkeypatch.setattr(Trainer, "fit", logged)
    monkeypatch.setattr(budget, "ROUND_PASSES", 2 * CLICKS)
    report = Ranker(profile).train()
    assert report.samples == CLICKS and epochs[-1] == 2 and report.epochs <= 2


def test_latest_is_measured_on_the_held_out_clicks_in_the_order_it_shows_them(
    profile: Profile,
) -> None:
    from app.services.tuning import _latest_aucs
    from nrms_core import Sample

    with profile.db.read() as s:
        ids = sorted(articles.article_titles(s))
        times = articles.article_times(s, ids)
    newest_first = sorted(ids, key=lambda a: (times[a], a), reverse=True)
    newest, middle, oldest = newest_first[0], newest_first[len(ids) // 2], newest_first[-1]
    held = [
        Sample((), (newest, middle, oldest)),  # Latest puts the click on top: 1
        Sample((), (oldest, newest, middle)),  # at the bottom: 0
        Sample((), (middle, newest, oldest)),  # between the two: 0.5
        Sample((), (10_000_000, newest)),  # the click is gone from the profile: no figure, 0.5
    ]
    assert _latest_aucs(profile, held) == [1.0, 0.0, 0.5, 0.5]
    # undated articles of one fetch share a time: Latest still shows them in one order, by id
    from sqlalchemy import update

    from app.storage.schema import Article

    low, high = sorted((newest_first[1], newest_first[2]))
    with profile.db.write() as s:
        s.execute(update(Article).where(Article.id == low).values(published=times[high]))
    tied = [Sample((), (high, low)), Sample((), (low, high))]
    assert _latest_aucs(profile, tied) == [1.0, 0.0]


def test_a_round_is_judged_on_priors_without_its_held_out_screen_and_ranks_with_all_of_it(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's last screen, one feed's own view read through, holds the held-out clicks:
    the round is judged on priors that never saw that screen, then ranks with priors over
    all of it, so that the feed read last is not left behind until the next round."""
    from app.services.training import source_of
    from nrms_core.recommender import Recommender

    with profile.db.read() as s:
        feeds_of = articles.article_feeds(s)
    opened = set(sorted(feeds_of)[:CLICKS])  # what the fixture opened
    counts = {f: sum(1 for a in opened if feeds_of[a] == f) for f in set(feeds_of.values())}
    feed = min(counts, key=lambda f: (counts[f], f))  # two feeds the fixture never opened
    rows = sorted(a for a, f in feeds_of.items() if f == feed and a not in opened)[:6]
    screen = activity.new_screen(profile.db, "feed", multi_feed=False)
    activity.record_impressions(profile.db, [(a, k) for k, a in enumerate(rows)], screen)
    for k, a in enumerate(rows[:5]):
        activity.record_click(profile.db, a, screen, dwell=20.0, position=k)
    calls: list[tuple[set[int], set[int]]] = []
    penalties: list[tuple[float, float] | None] = []
    real = Recommender.fit_priors

    def fit_priors(self: Recommender, shown: Any, opened: Any, *args: Any, **kw: Any) -> Any:
        calls.append((set(shown), set(opened)))
        given = kw.get("penalties_of")
        penalties.append(None if given is None else (given.word_ease, given.feed_hold))
        fit = real(self, shown, opened, *args, **kw)
        penalties.append((self.word_ease, self.feed_hold))
        return fit

    monkeypatch.setattr(Recommender, "fit_priors", fit_priors)
    report = Ranker(profile).train(epochs=1)
    (judged_shown, judged_opened), (all_shown, all_opened) = calls
    assert not judged_opened & set(rows) and set(rows[:5]) <= all_opened
    assert judged_shown <= all_shown
    # the refit over all of it ranks with the penalties the round was judged with
    chosen_first, given_second = penalties[1], penalties[2]
    assert penalties[0] is None and given_second == chosen_first == penalties[3]
    assert report.published
    with profile.db.read() as s:
        version = events.latest_model_version(s)
    assert version is not None
    published = Recommender.load(checkpoint_path(profile, version))
    other = min(f for f in counts if f != feed and counts[f] == counts[feed])
    read_last, passed_over = published.source_bias([source_of(feed), source_of(other)])
    assert read_last > passed_over + 0.1  # the feed read last stands above one never opened
