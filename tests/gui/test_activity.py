"""The activity dock: feeds with their error in full, failing ones alone, "Retry now"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from app.services.profile import Profile
from app.storage import feeds
from app.ui.state import REFRESH
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill

ERROR = "the server answered 503 Service Unavailable\nRetry-After: 120"


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    fill(profile, 6)
    with profile.db.write() as s:
        broken = feeds.list_feeds(s)[1].id
        feeds.record_fetch_failure(s, broken, datetime.now(UTC), ERROR)
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: len(w.sidebar.feeds) == 3, timeout=5000)
    yield w
    w.close()


def test_the_log_is_a_dock_with_every_feed(win: MainWindow, qtbot: QtBot) -> None:
    win.act_log.trigger()
    dock = win.activity_dock
    assert dock.isVisible() and dock.table.rowCount() == 3
    assert dock.table.item(0, 1).text().startswith("failing")  # failing feeds first
    dock.table.selectRow(0)
    assert ERROR in dock.detail.toPlainText()  # the error in full, both lines
    dock.failing_only.setChecked(True)
    assert dock.table.rowCount() == 1


def test_retry_now_refreshes_the_failing_feed(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[int] | None] = []
    monkeypatch.setattr(win, "refresh", lambda ids=None, **_: asked.append(ids) is None)
    win.act_log.trigger()
    win.activity_dock.retry.click()  # nothing selected: every failing feed
    failing = [f.id for f in win.sidebar.feeds.values() if f.error_count]
    assert asked == [failing]
    assert "Retrying 1 feed" in win.statusBar().currentMessage()


def test_a_feeds_event_names_it_once(win: MainWindow, qtbot: QtBot) -> None:
    from app.services.refresh import FeedFailure, RefreshProgress, RefreshSummary

    broken = next(f for f in win.sidebar.feeds.values() if f.error_count)
    win.scheduler._on_refresh_progress(RefreshProgress(1, 1, broken.id, False))
    failure = FeedFailure(broken.id, broken.url, "the server answered 503 Service Unavailable")
    win.scheduler.state.start(REFRESH)
    win.scheduler._on_refresh_done(RefreshSummary(1, 0, 0, 1, 0, 0, (failure,), 0.1))
    win.act_log.trigger()
    lines = win.activity_dock.events.toPlainText().splitlines()
    feed_lines = [line for line in lines if broken.title in line]
    assert len(feed_lines) == 2  # "failed" and the error, each naming the feed once
    assert all(line.count(broken.title) == 1 for line in feed_lines)
    assert any(line.endswith(f"{broken.title}: failed") for line in feed_lines)
    assert not any(broken.url in line for line in feed_lines)
