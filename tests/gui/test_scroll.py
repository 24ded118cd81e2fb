"""Mark as read on scroll past: off by default; when on, rows seen and scrolled above the
river's top are marked read, rows jumped over are not, and nothing is recorded as a click."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.services import preference, reading
from app.services.profile import Profile
from app.ui.outline import LATEST
from app.ui.preference import SettingsDialog
from app.ui.river import Role
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill

ROWS = 80


def open_window(profile: Profile, qtbot: QtBot, *, on: bool) -> MainWindow:
    fill(profile, ROWS)
    prefs = preference.load(profile.db)
    preference.save(profile.db, dataclasses.replace(prefs, mark_read_on_scroll=on))
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.resize(1000, 500)
    w.show()
    w.show_place(LATEST)
    qtbot.waitUntil(lambda: w.river.rowCount() >= 50, timeout=5000)
    qtbot.waitUntil(lambda: w.river_view.verticalScrollBar().maximum() > 0, timeout=5000)
    return w


@pytest.fixture
def on(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    w = open_window(profile, qtbot, on=True)
    yield w
    w.close()


def row_height(w: MainWindow) -> int:
    return w.river_view.visualRect(w.river.index(0)).height()


def read_rows(w: MainWindow) -> list[int]:
    return [r for r in range(w.river.rowCount()) if w.river.index(r).data(Role.READ)]


def test_it_is_off_by_default(profile: Profile, qtbot: QtBot) -> None:
    assert not preference.Preferences().mark_read_on_scroll
    w = open_window(profile, qtbot, on=False)
    try:
        w.river_view.verticalScrollBar().setValue(5 * row_height(w))
        assert read_rows(w) == []
    finally:
        w.close()


def test_rows_scrolled_past_are_marked_read(on: MainWindow, qtbot: QtBot) -> None:
    w = on
    bar = w.river_view.verticalScrollBar()
    h = row_height(w)
    bar.setValue(3 * h)  # rows 0, 1 and 2 pass above the top edge
    assert read_rows(w) == [0, 1, 2]
    bar.setValue(3 * h + h // 2)  # row 3 half way: still on screen
    assert read_rows(w) == [0, 1, 2]
    bar.setValue(0)  # back up: nothing more, nothing unmarked
    assert read_rows(w) == [0, 1, 2]
    ids = [w.river.index(r).data(Role.ARTICLE_ID) for r in range(3)]
    qtbot.waitUntil(lambda: all(_read(w, i) for i in ids), timeout=5000)
    assert not _read(w, w.river.index(3).data(Role.ARTICLE_ID))
    stats = reading.stats(w.db)
    assert stats.clicks == 0  # scrolling past is not a click
    qtbot.waitUntil(lambda: sum(f.unread for f in w.sidebar.feeds.values()) == ROWS - 3)


def test_rows_jumped_over_stay_unread(on: MainWindow, qtbot: QtBot) -> None:
    w = on
    bar = w.river_view.verticalScrollBar()
    h = row_height(w)
    seen = w.river_view.viewport().height() // h
    bar.setValue(40 * h)  # dragged far down: only the rows that were in view pass
    assert read_rows(w) == list(range(seen))


def test_the_setting_says_how_it_bears_on_learning(qtbot: QtBot) -> None:
    dialog = SettingsDialog(preference.Preferences())
    qtbot.addWidget(dialog)
    assert not dialog.scroll_read.isChecked()
    tip = dialog.scroll_read.toolTip()
    assert "not a click" in tip and "skips" in tip
    dialog.scroll_read.setChecked(True)
    assert dialog.preferences().mark_read_on_scroll


def _read(w: MainWindow, article_id: int) -> bool:
    article = reading.article(w.db, article_id)
    return article is not None and article.read
