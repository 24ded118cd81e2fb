"""kill -9 of the headless program mid-refresh and mid-training (CI runs a few trials; the 20×
loops are in bench/reliability.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.sample import seed_profile
from harness.scenario import FeedFarm, kill_refresh_trials, subscribe
from harness.server import LocalServer
from harness.training import install_model, kill_train_trial


@pytest.mark.slow
def test_refresh_killed_at_random_moments_loses_nothing(
    feed_server: LocalServer, tmp_path: Path
) -> None:
    farm = FeedFarm(feed_server, 30)
    root = tmp_path / "profile"
    subscribe(root, farm.urls)
    trials = kill_refresh_trials(root, farm, 3, random.Random(5))
    assert [t.detail for t in trials if not t.ok] == []
    assert sum(t.lost for t in trials) == 0


@pytest.mark.slow
@pytest.mark.parametrize("where", ["fsync"])
def test_training_killed_while_writing_the_checkpoint_keeps_a_valid_model(
    tmp_path: Path, where: str
) -> None:
    root = tmp_path / "profile"
    seed_profile(root)
    install_model(root)
    trial = kill_train_trial(root, random.Random(0), where=where, expected_seconds=10.0)
    assert trial.ok, trial.detail
    assert trial.lost == 0
    assert f"killed at {where}" in trial.detail
