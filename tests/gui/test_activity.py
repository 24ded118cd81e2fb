"""The activity dock: feeds with their error in full, failing ones alone, "Retry now"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from app.services.profile import Profile
from app.services.refresh import FeedFailure, RefreshProgress, RefreshSummary
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


def _fetch(feed_id: int, *, ok: bool, **kw: object) -> RefreshProgress:
    return RefreshProgress(1, 1, feed_id, ok, at=datetime.now(UTC), **kw)  # type: ignore[arg-type]


def test_a_feeds_event_names_it_once(win: MainWindow, qtbot: QtBot) -> None:
    broken = next(f for f in win.sidebar.feeds.values() if f.error_count)
    error = "the server answered 503 Service Unavailable"
    win.scheduler._on_refresh_progress(
        _fetch(broken.id, ok=False, http_status=503, seconds=1.25, error=error)
    )
    failure = FeedFailure(broken.id, broken.url, error)
    win.scheduler.state.start(REFRESH)
    win.scheduler._on_refresh_done(RefreshSummary(1, 0, 0, 1, 0, 0, (failure,), 0.1))
    win.act_log.trigger()
    lines = win.activity_dock.events.toPlainText().splitlines()
    feed_lines = [line for line in lines if broken.title in line]
    assert len(feed_lines) == 1  # one line per feed and refresh, naming it once
    assert feed_lines[0].count(broken.title) == 1 and broken.url not in feed_lines[0]
    assert feed_lines[0].endswith(f"{broken.title}: failed (HTTP 503, 1.2 s): {error}")


def test_the_history_lists_each_refresh_of_the_selected_feed(win: MainWindow, qtbot: QtBot) -> None:
    broken = next(f for f in win.sidebar.feeds.values() if f.error_count)
    fine = next(f for f in win.sidebar.feeds.values() if not f.error_count)
    progress = win.scheduler._on_refresh_progress
    progress(_fetch(fine.id, ok=True, http_status=200, seconds=0.5, new=3, updated=1))
    progress(_fetch(broken.id, ok=False, http_status=503, seconds=2.0, error=ERROR))
    progress(_fetch(fine.id, ok=True, http_status=304, seconds=0.1, not_modified=True))
    win.act_log.trigger()
    dock = win.activity_dock
    assert dock.history.rowCount() == 3  # nothing selected: every feed's, newest first

    def row(r: int) -> list[str]:
        items = [dock.history.item(r, c) for c in range(dock.history.columnCount())]
        return [item.text() if item is not None else "" for item in items]

    assert row(0)[1:7] == [fine.title, "not modified", "304", "0.10 s", "0", "0"]
    assert row(2)[1:7] == [fine.title, "ok", "200", "0.50 s", "3", "1"]
    dock.failing_only.setChecked(True)
    assert dock.history.rowCount() == 1
    assert row(0)[1:5] == [broken.title, "failed", "503", "2.00 s"]
    dock.failing_only.setChecked(False)
    names = [dock.table.item(r, 0) for r in range(dock.table.rowCount())]
    r = next(r for r, item in enumerate(names) if item is not None and item.text() == fine.title)
    dock.table.selectRow(r)
    assert dock.history.rowCount() == 2 and {row(0)[1], row(1)[1]} == {fine.title}
    dock.table.clearSelection()
    dock.history.selectRow(1)
    assert ERROR in dock.detail.toPlainText()  # the refresh's error in full, both lines
    assert "HTTP: 503" in dock.detail.toPlainText()
