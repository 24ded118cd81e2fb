"""The guard's decisions, its round log, and when a training round is due."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services import activity, guard
from app.services.model import MIN_CLICKS, model_ready
from app.services.profile import Profile
from app.services.training import TrainReport
from app.storage import articles, events
from harness.sample import seed_profile

ENOUGH = 5 * guard.MIN_HELD_OUT  # candidates of MIN_HELD_OUT clicks with four skipped each


def spread(centre: float, n: int = 12, width: float = 0.1) -> list[float]:
    """``n`` per-click AUCs around ``centre``."""
    return [min(1.0, max(0.0, centre + width * ((i % 5) - 2) / 2)) for i in range(n)]


def test_a_round_worse_than_chance_is_rejected() -> None:
    verdict = guard.judge(spread(0.45), candidates=60, current=None, clickbias=spread(0.4))
    assert verdict.decision == guard.REJECTED and verdict.publish is None
    assert "not better than chance" in verdict.reason
    assert verdict.mode == guard.LATEST  # nothing earns its keep, ClickBias neither


def test_a_round_at_exactly_chance_is_rejected_and_clickbias_ranks_when_it_earns_its_keep() -> None:
    verdict = guard.judge([0.5] * 10, candidates=50, current=None, clickbias=spread(0.7))
    assert verdict.decision == guard.REJECTED
    assert verdict.publish == guard.CLICKBIAS and verdict.mode == guard.CLICKBIAS
    assert "ClickBias" in verdict.reason


def test_a_first_round_at_chance_on_a_few_clicks_leaves_clickbias_ranking() -> None:
    """No model in use: five held-out clicks at chance are no evidence against the biases,
    which were fitted on every article shown; Latest takes For you only when it does better
    on the same clicks by more than their noise."""
    few = [0.2, 0.9, 0.4, 0.6, 0.15]  # the round: 0.45 on five clicks
    biases = [0.0, 1.0, 0.5, 0.75, 0.25]  # ClickBias: 0.50, noisy
    assert not guard.below_chance(biases)
    verdict = guard.judge(few, candidates=ENOUGH, current=None, clickbias=biases)
    assert verdict.decision == guard.REJECTED and "not better than chance" in verdict.reason
    assert verdict.publish == guard.CLICKBIAS and verdict.mode == guard.CLICKBIAS
    assert verdict.reason.endswith(
        "For you ranks by ClickBias, not below chance on these clicks (0.50)"
    )
    level = guard.judge(few, candidates=ENOUGH, current=None, clickbias=biases, latest=[0.6] * 5)
    assert level.mode == guard.CLICKBIAS  # Latest within the noise: no better
    ahead = guard.judge(
        few, candidates=ENOUGH, current=None, clickbias=[0.5] * 5, latest=[0.95] * 5
    )
    assert ahead.mode == guard.LATEST and ahead.publish is None
    # shown below chance, the biases give way as before
    worse = guard.judge(
        spread(0.3, n=20), candidates=100, current=None, clickbias=spread(0.2, n=20)
    )
    assert worse.mode == guard.LATEST


def test_a_model_in_use_at_chance_on_a_few_clicks_keeps_ranking_until_shown_worse() -> None:
    # eight held-out clicks inside one feed's view: both the round and the model in use sit
    # about at chance, within the noise of so few clicks
    current = [0.2, 0.9, 0.4, 0.6, 0.3, 0.7, 0.5, 0.16]
    assert not guard.below_chance(current)
    verdict = guard.judge(spread(0.47, n=8), candidates=40, current=current, clickbias=[0.4] * 8)
    assert verdict.decision == guard.REJECTED and verdict.publish is None
    assert verdict.mode == guard.MODEL and "the model in use stays" in verdict.reason
    # shown worse than chance on enough clicks, it is given up
    worse = spread(0.2, n=20)
    assert guard.below_chance(worse)
    gone = guard.judge(spread(0.3, n=20), candidates=100, current=worse, clickbias=[0.4] * 20)
    assert gone.mode == guard.LATEST and gone.reason.endswith("For you shows Latest")
    assert not guard.below_chance([])


def test_a_model_below_chance_is_given_up_for_latest_only_when_latest_does_better() -> None:
    # inside one feed's view a reader passes over the newer rows above what they open, so on
    # those clicks newest-first is below chance too: Latest would lose the model's feed and
    # word biases for nothing
    worse = spread(0.2, n=20)

    def after(latest: list[float], clickbias: list[float] | None = None) -> guard.Verdict:
        """The verdict on a round below chance, the model in use below it too."""
        return guard.judge(
            spread(0.3, n=20),
            candidates=100,
            current=worse,
            clickbias=[0.4] * 20 if clickbias is None else clickbias,
            latest=latest,
        )

    kept = after(spread(0.15, n=20))
    assert kept.decision == guard.REJECTED and kept.publish is None
    assert kept.mode == guard.MODEL and "Latest does no better" in kept.reason
    assert kept.latest == pytest.approx(0.15)
    # within the noise of the model in use is no better either
    assert after([0.0, 0.45] * 10).mode == guard.MODEL
    # clearly better on the same clicks, Latest takes over
    gone = after(spread(0.6, n=20))
    assert gone.mode == guard.LATEST and gone.reason.endswith("For you shows Latest")
    # ClickBias, when it beats chance, is still preferred to both
    assert after([0.1] * 20, clickbias=spread(0.7, n=20)).mode == guard.CLICKBIAS
    # a click without a figure (NaN) drops out of the comparison instead of deciding it
    assert after([*spread(0.15, n=20)[:-1], float("nan")]).mode == guard.MODEL
    # shown Latest since an earlier round, For you goes back to the model that stays
    back = guard.judge(
        spread(0.3, n=20),
        candidates=100,
        current=worse,
        clickbias=[0.4] * 20,
        latest=spread(0.15, n=20),
        current_mode=guard.LATEST,
    )
    assert back.mode == guard.MODEL and "the model in use stays" in back.reason


def test_a_round_clearly_worse_than_the_model_in_use_is_rejected_and_the_model_stays() -> None:
    current = spread(0.74, n=20)
    new = [c - 0.13 + (0.03 if i % 3 else -0.06) for i, c in enumerate(current)]
    verdict = guard.judge(
        new, candidates=100, current=current, clickbias=spread(0.55), baseline=0.7
    )
    assert verdict.decision == guard.REJECTED and verdict.publish is None
    assert verdict.mode == guard.MODEL  # the model in use still beats chance
    assert verdict.reason.startswith("rejected: worse than the model in use (0.61 vs 0.74 ± ")
    assert verdict.margin is not None and 0 < verdict.margin < 0.13
    assert verdict.baseline == 0.7


def test_a_round_within_the_noise_of_the_model_in_use_is_published() -> None:
    current = [0.9, 0.4, 0.8, 0.5, 0.7, 0.95, 0.3, 0.85, 0.6, 0.75]
    new = [c - 0.02 + (0.2 if i % 2 else -0.2) for i, c in enumerate(current)]  # noisy, ~equal
    verdict = guard.judge(new, candidates=50, current=current)
    assert verdict.margin is not None and verdict.figure is not None
    assert verdict.figure < verdict.current  # type: ignore[operator]
    assert verdict.decision == guard.PUBLISHED and verdict.publish == "round"
    assert "within the noise" in verdict.reason


def test_a_clearly_better_round_is_published() -> None:
    verdict = guard.judge(spread(0.8), candidates=60, current=spread(0.6))
    assert verdict.decision == guard.PUBLISHED and verdict.publish == "round"
    assert verdict.mode == guard.MODEL
    assert "better than the model in use" in verdict.reason


def test_a_round_that_clickbias_ranks_as_well_is_published_to_rank_by_clickbias() -> None:
    # judged on enough clicks and better than chance, but the biases alone do as well
    tied = guard.judge(spread(0.8), candidates=60, current=None, clickbias=spread(0.8))
    assert tied.decision == guard.PUBLISHED and tied.publish == "round"
    assert tied.mode == guard.CLICKBIAS
    assert tied.reason.endswith("which does as well as the round on these clicks (0.79 vs 0.79)")
    ahead = guard.judge(spread(0.7), candidates=60, current=spread(0.6), clickbias=spread(0.9))
    assert ahead.decision == guard.PUBLISHED and ahead.mode == guard.CLICKBIAS
    # a round ahead of the biases ranks with its whole score
    better = guard.judge(spread(0.8), candidates=60, current=None, clickbias=spread(0.7))
    assert better.mode == guard.MODEL and "ClickBias" not in better.reason
    # too few clicks to judge: unjudged ClickBias, whatever the figures
    few = guard.judge([0.9] * 3, candidates=ENOUGH, current=None, clickbias=[0.1] * 3)
    assert few.mode == guard.CLICKBIAS and few.too_few


def test_a_model_in_use_that_clickbias_ranks_as_well_gives_way_to_it_after_a_rejection() -> None:
    current = spread(0.74, n=20)
    new = [c - 0.13 + (0.03 if i % 3 else -0.06) for i, c in enumerate(current)]
    verdict = guard.judge(new, candidates=100, current=current, clickbias=spread(0.8, n=20))
    assert verdict.decision == guard.REJECTED
    assert verdict.publish == guard.CLICKBIAS and verdict.mode == guard.CLICKBIAS
    assert "as well as the model in use on these clicks (0.80 vs 0.74)" in verdict.reason
    # ClickBias already ranking stays ClickBias, refitted, as before
    stays = guard.judge(
        new,
        candidates=100,
        current=current,
        clickbias=spread(0.8, n=20),
        current_mode=guard.CLICKBIAS,
    )
    assert stays.mode == guard.CLICKBIAS and stays.reason.endswith(guard.REFITTED)


def test_a_model_in_use_at_chance_gives_way_to_clickbias_that_beats_it_on_the_same_clicks() -> None:
    # a round judged inside feed views, where the feed a reader prefers cannot show: the
    # round and the model in use at chance, the biases alone a little above both
    current = [0.2, 0.9, 0.4, 0.6, 0.3, 0.7, 0.5, 0.15]
    assert not guard.below_chance(current)
    verdict = guard.judge(
        spread(0.47, n=8), candidates=40, current=current, clickbias=spread(0.56, n=8)
    )
    assert verdict.decision == guard.REJECTED
    assert verdict.publish == guard.CLICKBIAS and verdict.mode == guard.CLICKBIAS
    assert "as well as the model in use on these clicks (0.54 vs 0.47)" in verdict.reason
    # ClickBias at chance itself is no better a bet: the model in use stays
    level = guard.judge(spread(0.47, n=8), candidates=40, current=current, clickbias=[0.5] * 8)
    assert level.mode == guard.MODEL and level.publish is None


def test_too_few_held_out_clicks_publish_a_round_that_fits_its_clicks() -> None:
    few = [0.0] * (guard.MIN_HELD_OUT - 1)  # a "hopeless" figure from a handful of clicks
    newer = guard.judge(few, candidates=ENOUGH, current=spread(0.6))
    assert newer.too_few and newer.decision == guard.PUBLISHED and newer.publish == "round"
    assert "too few held-out clicks" in newer.reason
    kept = guard.judge(
        few, candidates=ENOUGH, current=spread(0.6), in_sample=False, current_mode=guard.MODEL
    )
    assert kept.too_few and kept.decision == guard.KEPT and kept.publish is None
    assert "too few held-out clicks" in kept.reason and kept.mode == guard.MODEL
    first = guard.judge(few, candidates=ENOUGH, current=None)
    assert first.too_few and first.decision == guard.PUBLISHED and first.publish == "round"
    # unjudged, the network has not shown it adds to the biases: they rank alone until it has
    assert newer.mode == first.mode == guard.CLICKBIAS
    assert newer.reason.endswith(guard.UNJUDGED) and first.reason.endswith(guard.UNJUDGED)
    unfit = guard.judge(few, candidates=ENOUGH, current=None, in_sample=False)
    assert unfit.decision == guard.REJECTED and unfit.publish is None
    assert unfit.mode == guard.LATEST
    below = guard.judge([0.2, 0.3], candidates=10, current=None)  # means nothing either way
    assert below.decision == guard.PUBLISHED
    scarce = guard.judge(spread(0.9, n=6), candidates=guard.MIN_CANDIDATES - 1, current=None)
    assert scarce.too_few  # enough clicks, too few candidates among them


def test_the_paired_noise_is_reproducible_and_zero_for_a_constant_difference() -> None:
    a, b = spread(0.7, n=20), spread(0.6, n=20, width=0.3)
    assert guard.noise(a, b) == guard.noise(a, b) > 0
    assert guard.noise([0.8] * 8, [0.7] * 8) == pytest.approx(0.0, abs=1e-12)


def test_a_report_says_when_its_held_out_set_is_too_small() -> None:
    report = TrainReport(
        2, 25, 25, 3, 0.4, 1.0, 1.0, "cpu", 1.0, False, False, holdout_click_auc=1.0,
        decision=guard.KEPT, reason="kept: too few held-out clicks to judge (4 of 5 needed)",
        held_out=4, too_few_held_out=True,
    )  # fmt: skip
    line = report.summary()
    assert "too few held-out clicks" in line and "1.000" not in line
    assert report.as_dict()["decision"] == guard.KEPT


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[Profile]:
    root = tmp_path / "profile"
    seed_profile(root, feed_count=2, per_feed=40, clicks=0)
    with Profile(root) as p:
        yield p


def _ids(profile: Profile) -> list[int]:
    with profile.db.read() as s:
        return sorted(articles.article_titles(s))


def click(profile: Profile, article_id: int, n: int = 1) -> None:
    for _ in range(n):
        activity.record_click(profile.db, article_id, "screen", dwell=10.0)


def test_many_clicks_on_one_article_do_not_unlock_for_you(profile: Profile) -> None:
    ids = _ids(profile)
    click(profile, ids[0], 25)
    assert not guard.round_due(profile.db, 1)
    with profile.db.read() as s:
        assert events.clicks_since(s, 0) == 25 and events.clicked_articles(s) == 1
    for a in ids[1 : MIN_CLICKS - 1]:
        click(profile, a)
    assert not guard.round_due(profile.db, 1)  # one short of MIN_CLICKS distinct articles
    click(profile, ids[MIN_CLICKS])
    assert guard.round_due(profile.db, 5)  # the first round: as soon as the threshold is met
    assert not model_ready(profile.db)  # no model yet, whatever the clicks


def _log_round(profile: Profile, number: int, decision: str, mode: str = guard.MODEL) -> None:
    with profile.db.read() as s:
        last = max(c.id for c in events.click_history(s))
    guard.record(
        profile.db,
        guard.Round(number, "2026-12-01T10:00:00+00:00", 20, last, decision, decision, mode),
    )


def test_a_round_is_due_after_n_new_clicks_whatever_the_last_decision(profile: Profile) -> None:
    ids = _ids(profile)
    for a in ids[:MIN_CLICKS]:
        click(profile, a)
    _log_round(profile, 1, guard.REJECTED)
    assert not guard.round_due(profile.db, 5)
    for a in ids[MIN_CLICKS : MIN_CLICKS + 4]:
        click(profile, a)
    assert not guard.round_due(profile.db, 5)
    assert guard.round_due(profile.db, 1)  # the timer's rule: anything new
    click(profile, ids[MIN_CLICKS + 4])
    assert guard.round_due(profile.db, 5)


def test_a_rejected_round_leaves_clickbias_in_use_refitted_on_every_click() -> None:
    worse = guard.judge(
        spread(0.4), candidates=60, current=spread(0.7), current_mode=guard.CLICKBIAS
    )
    assert worse.decision == guard.REJECTED and worse.mode == guard.CLICKBIAS
    assert worse.publish == guard.CLICKBIAS and worse.reason.endswith(guard.REFITTED)
    at_chance = guard.judge(  # a model in use at chance on these clicks, not below it
        spread(0.4), candidates=60, current=spread(0.5), current_mode=guard.CLICKBIAS
    )
    assert at_chance.publish == guard.CLICKBIAS and at_chance.mode == guard.CLICKBIAS
    model = guard.judge(spread(0.4), candidates=60, current=spread(0.7))  # a network in use
    assert model.publish is None and model.mode == guard.MODEL


def test_clickbias_after_an_unjudged_round_says_why_in_its_own_words(profile: Profile) -> None:
    unjudged = guard.Round(1, "2026-12-01T11:00:00+00:00", 9, 1, guard.PUBLISHED, "x", "clickbias")
    guard.record(profile.db, dataclasses.replace(unjudged, too_few=True))
    assert guard.notice(profile.db) == guard.UNJUDGED_NOTICE
    guard.record(profile.db, dataclasses.replace(unjudged, number=2))  # judged, no better
    assert guard.notice(profile.db) == guard.NOTICES[guard.CLICKBIAS]
    guard.record(profile.db, dataclasses.replace(unjudged, number=3, mode=guard.MODEL))
    assert guard.notice(profile.db) is None


def test_the_log_keeps_every_round_bounded_and_survives_damage(profile: Profile) -> None:
    click(profile, _ids(profile)[0])
    for n in range(1, 4):
        _log_round(profile, n, guard.REJECTED, guard.CLICKBIAS)
    logged = guard.rounds(profile.db)
    assert [r.number for r in logged] == [1, 2, 3] and guard.next_number(profile.db) == 4
    assert guard.mode(profile.db) == guard.CLICKBIAS
    assert guard.notice(profile.db) == guard.NOTICES[guard.CLICKBIAS]
    with profile.db.write() as s:
        raw = json.loads(events.get_setting(s, guard.LOG_KEY) or "[]")
        raw.insert(0, {"number": "x"})  # damaged entries are skipped, the rest kept
        raw.append("garbage")
        events.set_setting(s, guard.LOG_KEY, json.dumps(raw))
    assert [r.number for r in guard.rounds(profile.db)] == [1, 2, 3]
    with profile.db.write() as s:
        events.set_setting(s, guard.LOG_KEY, "{not json")
        events.set_setting(s, guard.MODE_KEY, "bogus")
    assert guard.rounds(profile.db) == [] and guard.mode(profile.db) == guard.MODEL


def test_the_log_is_bounded(profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    click(profile, _ids(profile)[0])
    monkeypatch.setattr(guard, "KEEP_ROUNDS", 3)
    for n in range(1, 6):
        _log_round(profile, n, guard.PUBLISHED)
    assert [r.number for r in guard.rounds(profile.db)] == [3, 4, 5]
