"""Catching up safely: confirmation over 50, undo by Ctrl+Z and the status bar, older-than."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from app.services import reading
from app.services.profile import Profile
from app.storage import articles
from app.storage.schema import Article
from app.ui.catchup import CONFIRM_OVER
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill


def _window(profile: Profile, qtbot: QtBot, count: int) -> MainWindow:
    fill(profile, count)
    win = MainWindow(profile, options=QUIET)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.river.rowCount() == min(count, 200), timeout=5000)
    return win


@pytest.fixture
def many(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    win = _window(profile, qtbot, CONFIRM_OVER + 10)
    yield win
    win.close()


def _unread(win: MainWindow) -> int:
    return reading.stats(win.db).unread


def test_over_fifty_asks_first_and_no_changes_nothing(many: MainWindow, qtbot: QtBot) -> None:
    asked: list[int] = []
    many.catchup.confirm = lambda count, what: asked.append(count) is not None and False
    many.act_all_read.trigger()
    qtbot.waitUntil(lambda: asked == [CONFIRM_OVER + 10], timeout=5000)
    qtbot.wait(200)
    assert _unread(many) == CONFIRM_OVER + 10


def test_mark_all_read_then_undo_with_ctrl_z(many: MainWindow, qtbot: QtBot) -> None:
    many.catchup.confirm = lambda count, what: True
    many.act_all_read.trigger()
    qtbot.waitUntil(lambda: _unread(many) == 0, timeout=5000)
    qtbot.waitUntil(many.catchup.undo_button.isVisible, timeout=5000)
    assert many.catchup.act_undo.isEnabled()
    assert "Marked 60 articles as read" in many.statusBar().currentMessage()
    many.river_view.setFocus()
    qtbot.keyClick(many.river_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _unread(many) == CONFIRM_OVER + 10, timeout=5000)
    assert not many.catchup.undo_button.isVisible()
    qtbot.waitUntil(lambda: "unread again" in many.statusBar().currentMessage(), timeout=5000)


def test_undo_from_the_status_bar_and_only_once(many: MainWindow, qtbot: QtBot) -> None:
    many.catchup.confirm = lambda count, what: True
    many.act_all_read.trigger()
    qtbot.waitUntil(many.catchup.undo_button.isVisible, timeout=5000)
    many.catchup.undo_button.click()
    qtbot.waitUntil(lambda: _unread(many) == CONFIRM_OVER + 10, timeout=5000)
    many.catchup.undo()
    assert "nothing to undo" in many.statusBar().currentMessage()


def test_undo_lasts_at_least_a_minute(many: MainWindow, qtbot: QtBot) -> None:
    many.catchup.confirm = lambda count, what: True
    many.act_all_read.trigger()
    qtbot.waitUntil(many.catchup.undo_button.isVisible, timeout=5000)
    assert many.catchup.expiry.remainingTime() > 60_000


def test_few_articles_need_no_question(profile: Profile, qtbot: QtBot) -> None:
    win = _window(profile, qtbot, 10)
    win.catchup.confirm = lambda count, what: pytest.fail("asked for 10 articles")
    win.act_all_read.trigger()
    qtbot.waitUntil(lambda: _unread(win) == 0, timeout=5000)
    win.close()


def test_mark_older_than_a_day_keeps_the_new(profile: Profile, qtbot: QtBot) -> None:
    win = _window(profile, qtbot, 12)
    with win.db.write() as s:  # the first six a day and a half old
        ids = articles.unread_ids(s)
        for offset, article_id in enumerate(sorted(ids)[:6]):
            old = datetime.now(UTC) - timedelta(hours=36 + offset)
            s.execute(update(Article).where(Article.id == article_id).values(published=old))
    win.catchup.act_day.trigger()
    qtbot.waitUntil(lambda: _unread(win) == 6, timeout=5000)
    win.catchup.act_week.trigger()
    qtbot.wait(300)
    assert _unread(win) == 6
    assert "Nothing to mark" in win.statusBar().currentMessage()
    win.close()


def test_open_in_browser_without_a_browser_says_so_and_is_no_open(
    profile: Profile, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.storage import events
    from app.ui import article as article_module

    monkeypatch.setattr(article_module, "open_external", lambda url: False)  # no browser
    win = _window(profile, qtbot, 5)
    win.river_view.setFocus()
    qtbot.keyClick(win.river_view, Qt.Key.Key_J)
    qtbot.keyClick(win.river_view, Qt.Key.Key_O)
    assert "Could not open a web browser" in win.statusBar().currentMessage()
    qtbot.wait(300)
    with win.db.read() as s:
        assert events.click_history(s) == []
    win.close()
