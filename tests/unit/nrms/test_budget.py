"""A round's budget (issue 19): the newest clicks all in, a stratified replay sample of the
older ones that over rounds draws every one of them, a cap on samples x epochs, bounded
cross-fitting folds, and rounds under the budget exactly as before."""

from __future__ import annotations

import pytest

from nrms_core.budget import (
    ROUND_PASSES,
    ROUND_SAMPLES,
    RUN,
    bounded,
    fold_sample,
    round_epochs,
    spread,
)


def test_items_that_fit_come_back_all_and_in_order() -> None:
    items = list(range(ROUND_SAMPLES))
    assert bounded(items, seed=3) == items
    assert bounded(list(range(7)), budget=7, recent=3) == list(range(7))


def test_the_budget_holds_with_the_newest_all_in_and_order_kept() -> None:
    items = list(range(10_000))
    chosen = bounded(items, budget=2_000, recent=1_000, seed=5)
    assert len(chosen) == 2_000
    assert chosen[-1_000:] == items[-1_000:]  # the newest, and so the held-out tail
    assert chosen == sorted(chosen) and len(set(chosen)) == len(chosen)


def test_the_replay_sample_is_stratified_over_the_older_items() -> None:
    items = list(range(1_000))
    replay = bounded(items, budget=20, recent=10, seed=1)[:10]
    older = len(items) - 10
    for k, item in enumerate(replay):  # one from each tenth of the older items
        assert k * older // 10 <= item < (k + 1) * older // 10


def test_the_replay_sample_is_deterministic_by_seed_and_changes_with_it() -> None:
    items = list(range(5_000))
    assert bounded(items, seed=7) == bounded(items, seed=7)
    assert bounded(items, seed=7) != bounded(items, seed=8)


def test_over_rounds_every_old_click_is_drawn() -> None:
    items = list(range(300))
    drawn: set[int] = set()
    for seed in range(80):  # a round's seed is the number of clicks in the log
        drawn.update(bounded(items, budget=60, recent=20, seed=seed))
    assert drawn == set(items)


def test_the_epochs_are_capped_by_samples_times_epochs() -> None:
    assert round_epochs(ROUND_PASSES // 30, 30) == 30  # under the cap: as before
    assert round_epochs(ROUND_SAMPLES, 30) * ROUND_SAMPLES <= ROUND_PASSES
    assert round_epochs(1_000_000, 30) == 1
    assert round_epochs(0, 30) == 30
    assert round_epochs(100, 30, passes=1_000) == 10


def test_a_wrong_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        bounded([1, 2, 3], budget=2, recent=3)


def test_the_folds_together_stay_within_their_passes_in_runs_spread_over_time() -> None:
    items = list(range(1_000))
    chosen = fold_sample(items, folds=2, epochs=2, passes=1_000, seed=3)
    assert 0 < len(chosen) <= 250 and chosen == sorted(chosen)  # 2 folds x 2 epochs x 250
    runs = [chosen[i : i + RUN] for i in range(0, len(chosen), RUN)]
    assert all(run == list(range(run[0], run[0] + len(run))) for run in runs)  # neighbours
    assert all(run[0] % RUN == 0 for run in runs)
    chunks, n = -(-1_000 // RUN), len(runs)  # one run from each of n equal stretches
    assert all(k * chunks // n <= r[0] // RUN < (k + 1) * chunks // n for k, r in enumerate(runs))
    assert fold_sample(items[:100], folds=2, epochs=2, passes=1_000) == items[:100]
    few = spread(items, 10, seed=1)
    assert few == list(range(few[0], few[0] + 10))  # fewer than a run: one run of neighbours
    assert fold_sample(items, folds=2, epochs=0, passes=10) == items  # nothing to train
    assert fold_sample(items, folds=3, epochs=30, passes=10) != []
