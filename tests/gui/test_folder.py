"""Folders and feeds from the sidebar: rename, delete and refresh a folder, move feeds by drag
and drop or from their properties, delete the failed feeds together, rename a feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app.services.profile import Profile
from app.storage import feeds
from app.ui import admin
from app.ui.outline import FOR_YOU, LATEST, Place
from app.ui.river import Role
from app.ui.subscription import FailedFeedsDialog, FeedPropertiesDialog
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill

NEWS = Place("folder", "News")


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    fill(profile, 30)  # Feed 0 and Feed 2 in News, Feed 1 in no folder; 10 articles each
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: len(w.sidebar.feeds) == 3, timeout=5000)
    qtbot.waitUntil(lambda: w.river.rowCount() == 30, timeout=5000)
    yield w
    w.close()


def feed_named(w: MainWindow, title: str) -> int:
    return next(f.id for f in w.sidebar.feeds.values() if f.title == title)


def show(w: MainWindow, qtbot: QtBot, place: Place, rows: int) -> None:
    w.show_place(place)
    qtbot.waitUntil(lambda: w.river.rowCount() == rows, timeout=5000)


def status(w: MainWindow) -> str:
    return w.statusBar().currentMessage()


def test_a_folder_row_has_its_own_menu(win: MainWindow) -> None:
    texts = [a.text() for a in win.folders.menu.actions()]
    assert texts == ["Refresh this folder", "Rename folder…", "Mark all as read", "Delete folder…"]


def test_renaming_a_folder_files_its_feeds_under_the_new_name(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    show(win, qtbot, NEWS, 20)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (" World ", True))
    win.folders.ask_rename()
    world = Place("folder", "World")
    qtbot.waitUntil(lambda: win.sidebar.index_of(world).isValid(), timeout=5000)
    assert not win.sidebar.index_of(NEWS).isValid()
    assert {f.folder for f in win.sidebar.feeds.values()} == {"World", None}
    assert win.place == world
    assert win.sidebar_view.currentIndex() == win.sidebar.index_of(world)
    assert win.river.query.view.folder == "World"
    qtbot.waitUntil(lambda: win.river.rowCount() == 20, timeout=5000)


def test_a_folder_name_with_nothing_in_it_is_refused_in_words(win: MainWindow) -> None:
    win.folders.rename("News", "  ")
    assert status(win).startswith("A folder needs a name")


def test_deleting_a_folder_says_how_much_goes_then_deletes_its_feeds(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    show(win, qtbot, NEWS, 20)
    asked: list[str] = []

    def answer(parent: Any, title: str, text: str, *a: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    win.folders.ask_delete()
    assert asked == [
        "Delete the folder News: unsubscribe from its 2 feeds and delete their 20 articles?"
    ]
    qtbot.waitUntil(lambda: len(win.sidebar.feeds) == 1, timeout=5000)
    assert [f.title for f in win.sidebar.feeds.values()] == ["Feed 1"]
    assert win.place == LATEST
    qtbot.waitUntil(lambda: win.river.rowCount() == 10, timeout=5000)


def test_a_declined_folder_deletion_deletes_nothing(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    show(win, qtbot, NEWS, 20)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)
    win.folders.ask_delete()
    qtbot.wait(300)
    assert len(win.sidebar.feeds) == 3


def test_refreshing_a_folder_refreshes_only_its_feeds(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[int] | None] = []
    monkeypatch.setattr(win, "refresh", lambda ids=None, **k: asked.append(ids) or True)
    show(win, qtbot, NEWS, 20)
    win.folders.act_refresh.trigger()
    assert len(asked) == 1 and asked[0] is not None
    assert sorted(asked[0]) == sorted([feed_named(win, "Feed 0"), feed_named(win, "Feed 2")])


def test_dropping_a_feed_on_a_folder_moves_it_and_the_river_follows(
    win: MainWindow, qtbot: QtBot
) -> None:
    show(win, qtbot, NEWS, 20)
    model = win.sidebar
    feed_id = feed_named(win, "Feed 1")
    data = model.mimeData([model.index_of(Place("feed", feed_id))])
    folder = model.index_of(NEWS)
    move = Qt.DropAction.MoveAction
    assert model.canDropMimeData(data, move, -1, -1, folder)
    assert not model.canDropMimeData(data, move, -1, -1, model.index_of(FOR_YOU))
    assert model.flags(model.index_of(Place("feed", feed_id))) & Qt.ItemFlag.ItemIsDragEnabled
    assert not model.flags(model.index_of(FOR_YOU)) & Qt.ItemFlag.ItemIsDragEnabled
    model.dropMimeData(data, move, -1, -1, folder)
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed_id].folder == "News", timeout=5000)
    qtbot.waitUntil(lambda: win.river.rowCount() == 30, timeout=5000)  # the folder's river
    parent = win.sidebar.index_of(Place("feed", feed_id)).parent()
    assert win.sidebar.place_at(parent) == NEWS


def test_dropping_between_top_level_rows_takes_a_feed_out_of_its_folder(
    win: MainWindow, qtbot: QtBot
) -> None:
    model = win.sidebar
    feed_id = feed_named(win, "Feed 0")
    data = model.mimeData([model.index_of(Place("feed", feed_id))])
    assert model.canDropMimeData(data, Qt.DropAction.MoveAction, 1, 0, QModelIndex())
    model.dropMimeData(data, Qt.DropAction.MoveAction, 1, 0, QModelIndex())
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed_id].folder is None, timeout=5000)


def edited(title: str, folder: str) -> type[FeedPropertiesDialog]:
    class Edited(FeedPropertiesDialog):
        def exec(self) -> int:
            self.title_edit.setText(title)
            self.folder_box.setCurrentText(folder)
            return int(QDialog.DialogCode.Accepted.value)

    return Edited


def test_the_properties_move_a_feed_and_rename_its_rows_at_once(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    show(win, qtbot, NEWS, 20)
    feed_id = feed_named(win, "Feed 0")
    win.show_place(Place("feed", feed_id))
    qtbot.waitUntil(lambda: win.river.rowCount() == 10, timeout=5000)
    monkeypatch.setattr(admin, "FeedPropertiesDialog", edited("Morning Post", "Papers"))
    win.admin.edit_feed()

    def renamed() -> bool:
        rows = [win.river.index(r).data(Role.ARTICLE) for r in range(win.river.rowCount())]
        return len(rows) == 10 and all(a.feed_title == "Morning Post" for a in rows)

    qtbot.waitUntil(renamed, timeout=5000)
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed_id].folder == "Papers", timeout=5000)
    show(win, qtbot, NEWS, 10)


def test_renaming_a_feed_renames_the_rows_shown_in_latest(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    show(win, qtbot, LATEST, 30)
    feed_id = feed_named(win, "Feed 1")
    win.place = Place("feed", feed_id)  # selected in the sidebar, river left as it was
    monkeypatch.setattr(admin, "FeedPropertiesDialog", edited("Evening Star", ""))
    win.admin.edit_feed()

    def names() -> set[str]:
        rows = [win.river.index(r).data(Role.ARTICLE) for r in range(win.river.rowCount())]
        return {a.feed_title for a in rows}

    qtbot.waitUntil(lambda: "Evening Star" in names(), timeout=5000)
    assert "Feed 1" not in names()


def fail(w: MainWindow, *titles: str) -> None:
    with w.db.write() as s:
        for title in titles:
            feeds.record_fetch_failure(s, feed_named(w, title), datetime.now(UTC), "HTTP 410")


def test_failed_feeds_are_listed_and_deleted_together(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail(win, "Feed 0", "Feed 1")
    win.reload_sidebar()
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed_named(win, "Feed 0")].error_count == 1)
    shown: list[list[int]] = []

    def accept(self: FailedFeedsDialog) -> int:
        shown.append(self.chosen())
        return int(QDialog.DialogCode.Accepted.value)

    monkeypatch.setattr(FailedFeedsDialog, "exec", accept)
    win.act_delete_failed.trigger()
    assert sorted(shown[0]) == sorted([feed_named(win, "Feed 0"), feed_named(win, "Feed 1")])
    qtbot.waitUntil(lambda: len(win.sidebar.feeds) == 1, timeout=5000)
    assert status(win) == "Deleted 2 feeds."


def test_no_failed_feed_is_said_in_words(win: MainWindow) -> None:
    win.act_delete_failed.trigger()
    assert status(win) == "No feed failed at its last refresh."


def test_the_failed_feeds_dialog_deletes_only_the_ticked(win: MainWindow, qtbot: QtBot) -> None:
    fail(win, "Feed 0", "Feed 1")
    with win.db.read() as s:
        failing = [f for f in feeds.list_feeds(s) if f.error_count]
    dialog = FailedFeedsDialog(failing, win)
    qtbot.addWidget(dialog)
    assert "2 feeds and delete their 20 articles" in dialog.summary.text()
    dialog.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert dialog.chosen() == [failing[1].id]
    assert "from 1 feed and delete their 10 articles" in dialog.summary.text()
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.delete_button.isEnabled()


def test_a_drop_on_the_sidebar_view_reaches_the_folder(win: MainWindow, qtbot: QtBot) -> None:
    view, model = win.sidebar_view, win.sidebar
    feed_id = feed_named(win, "Feed 1")
    data = model.mimeData([model.index_of(Place("feed", feed_id))])
    where = QPointF(view.visualRect(model.index_of(NEWS)).center())
    drop = QDropEvent(
        where,
        Qt.DropAction.MoveAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    assert view.acceptDrops() and view.dragEnabled()
    view.dropEvent(drop)
    assert not drop.isAccepted()  # the view must not remove the dragged row itself
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed_id].folder == "News", timeout=5000)
