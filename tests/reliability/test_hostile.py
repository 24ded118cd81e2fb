"""Hostile servers through the Refresher into a real profile: each bad feed fails alone, in
bounded time and memory, and the good feeds of the same batch get their articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.feeds.fetcher import FetchLimits
from harness.hostile import hostile_batch
from harness.server import LocalServer

TOTAL_TIMEOUT = 2.0


@pytest.mark.slow
def test_a_batch_of_hostile_feeds_fails_feed_by_feed(
    feed_server: LocalServer, tmp_path: Path
) -> None:
    limits = FetchLimits(connect_timeout=2.0, total_timeout=TOTAL_TIMEOUT)
    outcome = hostile_batch(
        feed_server,
        tmp_path / "profile",
        tmp_path / "secret.txt",
        limits,
        bomb_mib=256,
        items=10_000,
    )
    assert [f"{t.scenario}: {t.detail}" for t in outcome.trials if not t.ok] == []
    assert outcome.summary.feeds == len(outcome.trials) - 1
    # every fetch is bounded by the deadline; parsing the big feed adds a few seconds at most
    assert outcome.seconds < 4 * TOTAL_TIMEOUT + 20
    if outcome.peak_mib is not None:
        assert outcome.peak_mib < 256, f"peak memory grew by {outcome.peak_mib:.0f} MiB"
