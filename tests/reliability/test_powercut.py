"""A power cut while the vector cache is being saved (the writer killed inside fsync, the
files then truncated at random points) never stops ranking or explaining (issue 18, item 1).
The full run, 20 cuts of the cache and 20 of each database file, is bench/reliability.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness import powercut
from harness.sample import seed_profile
from harness.training import install_model


@pytest.mark.slow  # starts writers and loads torch and a model
def test_power_cuts_of_the_vector_cache_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "p"
    seed_profile(root, feed_count=3, per_feed=20, clicks=21)
    install_model(root)
    rng = random.Random(5)
    for _ in range(2):
        trial = powercut.cache_trial(root, rng)
        assert trial.ok and trial.lost == 0, trial.detail
