"""A full disk, a second instance and a database locked by another program (the tmpfs and
training variants of the full disk run in bench/reliability.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.fault import (
    disk_full_refresh_trial,
    locked_database_trial,
    second_instance_trial,
)
from harness.sample import seed_profile
from harness.scenario import FeedFarm, subscribe
from harness.server import LocalServer


def test_refresh_on_a_full_disk_fails_clearly_and_keeps_the_data(
    feed_server: LocalServer, tmp_path: Path
) -> None:
    farm = FeedFarm(feed_server, 10)
    root = tmp_path / "profile"
    subscribe(root, farm.urls)
    trial = disk_full_refresh_trial(root, farm, random.Random(1), mode="rlimit")
    assert trial.ok, trial.detail
    assert "disk" in trial.detail


@pytest.mark.slow
def test_a_second_instance_is_refused_while_the_first_refreshes(
    feed_server: LocalServer, tmp_path: Path
) -> None:
    farm = FeedFarm(feed_server, 6)
    root = tmp_path / "profile"
    subscribe(root, farm.urls)
    trial = second_instance_trial(root, farm)
    assert trial.ok, trial.detail


def test_a_lock_held_past_the_busy_timeout_is_a_clear_error_then_retry_works(
    tmp_path: Path,
) -> None:
    root = tmp_path / "profile"
    seed_profile(root, feed_count=2, per_feed=5, clicks=0)
    trial = locked_database_trial(root, busy_ms=300, hold=1.0)
    assert trial.ok, trial.detail
    assert "locked by another program" in trial.detail
