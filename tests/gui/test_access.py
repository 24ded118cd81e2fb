"""Accessible names: rows say title, feed, age, read and starred state and score; panes and
toolbar buttons have names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from app.services.profile import Profile
from app.storage.record import ArticleRecord
from app.ui.access import age, row_name
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    fill(profile, 4)
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.river.rowCount() == 4, timeout=5000)
    yield w
    w.close()


def test_a_row_says_what_a_sighted_reader_sees(win: MainWindow) -> None:
    name = win.river.index(0).data(Qt.ItemDataRole.AccessibleTextRole)
    article = win.river.article_at(0)
    assert article is not None
    assert name.startswith(article.title + ", from Feed 0, ")
    assert name.endswith("unread")


def test_row_name_parts() -> None:
    article = ArticleRecord(
        id=1, feed_id=1, feed_title="BBC", url=None, title="Storm", summary_html="",
        summary_text="", author=None, published=NOW - timedelta(hours=3), fetched=NOW,
        read=True, starred=True,
    )  # fmt: skip
    assert (
        row_name(article, 0.4567, NOW) == "Storm, from BBC, 3 hours ago, read, starred, score 0.46"
    )
    assert age(NOW - timedelta(days=1, hours=2), NOW) == "1 day ago"
    assert age(NOW, NOW) == "just now"


def test_panes_and_toolbar_buttons_have_names(win: MainWindow) -> None:
    for widget in (win.river_view, win.sidebar_view, win.reader, win.search):
        assert widget.accessibleName()
    buttons = [
        toolbar.widgetForAction(action)
        for toolbar in win.findChildren(QToolBar)
        for action in toolbar.actions()
        if action.text()
    ]
    assert buttons and all(b is None or b.accessibleName() for b in buttons)
