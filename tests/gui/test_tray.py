"""The tray icon: the unread count follows the profile, and its menu reaches the window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.services import reading
from app.services.profile import Profile
from app.ui.tray import badge
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    fill(profile, 12)
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.river.rowCount() == 12, timeout=5000)
    yield w
    w.close()


def test_the_tooltip_counts_unread_and_follows_marking(win: MainWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: win.tray.unread == 12, timeout=5000)
    assert win.tray.icon.toolTip() == "Heedful: 12 unread articles"
    reading.set_read(win.db, reading.unread_in_scope(win.db)[:2], True)
    win.reload_sidebar()
    qtbot.waitUntil(lambda: win.tray.unread == 10, timeout=5000)


def test_the_menu_shows_the_window_refreshes_and_quits(win: MainWindow) -> None:
    texts = [a.text() for a in win.tray.menu.actions() if not a.isSeparator()]
    assert texts == ["Show Heedful", "Refresh", "Quit"]
    win.hide()
    win.tray.act_show.trigger()
    assert win.isVisible()


def test_the_badge_draws_on_the_icon(qtbot: QtBot) -> None:
    from app.ui import resource

    plain = resource.icon("heedful").pixmap(64, 64).toImage()
    marked = badge(resource.icon("heedful"), 7).pixmap(64, 64).toImage()
    assert plain != marked
    assert badge(resource.icon("heedful"), 0).pixmap(64, 64).toImage() == plain
