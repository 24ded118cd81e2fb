"""A headless click records a screen of ``list``, not every unread article above it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.services.activity import HEADLESS_PAGE
from app.services.profile import Profile
from app.storage import articles, events
from harness.sample import seed_profile


def test_headless_click_records_a_bounded_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_profile(tmp_path, feed_count=6, per_feed=60, clicks=0)
    with Profile(tmp_path) as profile, profile.db.read() as s:
        unread = articles.unread_ids(s)
    last = unread[-1]  # 359 unread articles above it
    assert main(["--data-dir", str(tmp_path), "click", str(last)]) == 0
    capsys.readouterr()
    with Profile(tmp_path) as profile, profile.db.read() as s:
        (click,) = events.click_history(s)
        shown = [i for i in events.impressions(s) if i.session == click.session]
        screen = events.screens(s)[click.session]
    assert len(shown) == HEADLESS_PAGE + 1  # the page above it, and the click itself
    assert click.position == len(unread) - 1
    positions = sorted(i.position for i in shown if i.position is not None)
    assert positions == list(range(len(unread) - 1 - HEADLESS_PAGE, len(unread)))
    assert screen.view == "headless" and screen.multi_feed
