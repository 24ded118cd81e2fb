"""The sidebar's tree: nested folders shown inside their parents with summed unread counts,
feeds dropped into a nested folder, folders kept folded across reloads, a nested folder renamed
where it is, an OPML list's nesting kept both ways, and the highlighted row following the place
shown, however it was shown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelection, QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester
from PySide6.QtWidgets import QInputDialog, QTreeView
from pytestqt.qtbot import QtBot

from app.feeds.opml import read_opml
from app.services import folder, reading, subscription
from app.services.profile import Profile
from app.storage import feeds
from app.storage.record import FeedRecord
from app.ui import task
from app.ui.outline import FOR_YOU, LATEST, Place, folder_tree
from app.ui.sidebar import SidebarModel, fit_counts, moved_folder
from app.ui.window import QUIET, MainWindow
from tests.gui.conftest import fill

NEWS = Place("folder", "News")
TECH = Place("folder", "News/Tech")


@pytest.fixture
def win(profile: Profile, qtbot: QtBot) -> Iterator[MainWindow]:
    fill(profile, 30)  # Feed 0 and Feed 2 in News, Feed 1 in no folder; 10 articles each
    with profile.db.read() as s:
        feed_2 = next(f.id for f in feeds.list_feeds(s) if f.title == "Feed 2")
    folder.move(profile.db, [feed_2], "News/Tech")
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.sidebar.index_of(TECH).isValid(), timeout=5000)
    qtbot.waitUntil(lambda: w.river.rowCount() == 30, timeout=5000)
    yield w
    w.close()


def feed_named(w: MainWindow, title: str) -> int:
    return next(f.id for f in w.sidebar.feeds.values() if f.title == title)


def record(feed_id: int, folder: str | None, unread: int) -> FeedRecord:
    return FeedRecord(
        id=feed_id,
        url=f"https://example.org/{feed_id}.xml",
        title=f"Feed {feed_id}",
        site_url=None,
        folder=folder,
        etag=None,
        last_modified=None,
        last_fetch=None,
        next_fetch=None,
        error_count=0,
        last_error=None,
        update_interval=1800,
        enabled=True,
        unread=unread,
        total=unread,
    )


def rows(model: SidebarModel, parent: Place | None = None) -> list[tuple[str, str]]:
    """(name, unread) of the rows directly under ``parent`` (None: the top level)."""
    index = model.index_of(parent) if parent is not None else None
    out = []
    for row in range(model.rowCount(index) if index is not None else model.rowCount()):
        if index is None:
            name, count = model.index(row, 0), model.index(row, 1)
        else:
            name, count = model.index(row, 0, index), model.index(row, 1, index)
        out.append((name.data(), count.data()))
    return out


def test_folders_nest_by_path_and_their_unread_counts_add_up(qtbot: QtBot) -> None:
    model = SidebarModel()
    model.update(
        [
            record(1, "News", 3),
            record(2, "News/Tech", 4),
            record(3, "News/Tech/AI", 5),
            record(4, "News/Arts", 0),
            record(5, None, 7),
        ],
        total_unread=19,
        starred=0,
    )
    assert rows(model) == [
        ("For you", "19"),
        ("Latest", "19"),
        ("Starred", ""),
        ("News", "12"),
        ("Feed 5", "7"),
    ]
    assert rows(model, NEWS) == [("Arts", ""), ("Tech", "9"), ("Feed 1", "3")]
    assert rows(model, TECH) == [("AI", "5"), ("Feed 2", "4")]
    ai = model.index_of(Place("folder", "News/Tech/AI"))
    assert model.place_at(ai.parent()) == TECH
    assert model.place_at(ai.parent().parent()) == NEWS
    assert ai.data(Qt.ItemDataRole.ToolTipRole) == "News/Tech/AI"
    assert ai.data(Qt.ItemDataRole.AccessibleTextRole) == "AI, folder inside Tech, 5 unread"
    news = model.index_of(NEWS).data(Qt.ItemDataRole.AccessibleTextRole)
    assert news == "News, folder, 12 unread"
    assert model.folder_places() == [
        NEWS,
        Place("folder", "News/Arts"),
        TECH,
        Place("folder", "News/Tech/AI"),
    ]


def test_the_tree_holds_together_for_qt_through_counts_and_rebuilds(
    qtbot: QtBot, qtlog: Any
) -> None:
    """Qt's own checker of item models (parents, rows, indexes and the signals of a reset or a
    change) watches the model through an update in place and two rebuilds, under a view."""
    model = SidebarModel()
    view = QTreeView()
    qtbot.addWidget(view)
    view.setModel(model)
    tester = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
    nested = [record(1, "News", 3), record(2, "News/Tech", 4), record(5, None, 7)]
    assert model.update(nested, total_unread=14, starred=1)
    view.expandAll()
    assert not model.update([*nested[:2], record(5, None, 0)], total_unread=7, starred=1)
    assert model.update([record(2, "Tech", 4), record(6, "Tech/AI", 1)], total_unread=5, starred=0)
    assert rows(model, Place("folder", "Tech")) == [("AI", "1"), ("Feed 2", "4")]
    index = model.index_of(Place("feed", 6))
    assert model.place_at(index.parent()) == Place("folder", "Tech/AI")
    assert model.index(index.row(), 1, index.parent()).data() == "1"
    assert not model.index(99, 0).isValid() and not model.index(0, 2).isValid()
    # every count moved (after a refresh): one signal a run of neighbouring rows, not a row
    many = [record(i, None, 1) for i in range(10, 60)]
    assert model.update(many, total_unread=50, starred=0)
    told: list[tuple[int, int]] = []
    model.dataChanged.connect(
        lambda top, bottom, roles=(): told.append((top.row(), bottom.row(), top.column()))
    )
    more = [replace(f, unread=2) for f in many]
    assert not model.update(more, total_unread=100, starred=0)
    # For you and Latest, then the fifty feeds (not Starred), from the count column: their
    # names look the same, still bold
    assert told == [(0, 1, 1), (3, 52, 1)]
    told.clear()
    assert not model.update([*more[:-1], replace(more[-1], unread=0)], total_unread=98, starred=0)
    assert told == [(0, 1, 1), (52, 52, 0)]  # the last feed's name is no longer bold
    assert model.index(51, 1).data() == "2" and model.index(52, 1).data() == ""
    assert model.update([], total_unread=0, starred=0)
    assert [model.place_at(model.index(r, 0)) for r in range(model.rowCount())] == [
        FOR_YOU,
        LATEST,
        Place("smart", "starred"),
    ]
    assert tester is not None
    assert [r.message for r in qtlog.records if "FAIL" in r.message] == []


def test_a_folder_tree_thousands_of_levels_deep_is_built_without_recursion() -> None:
    path = "/".join(f"L{n}" for n in range(5000))
    node = folder_tree([record(1, path, 1)])
    depth = 0
    while node.folders:
        (node,) = node.folders.values()
        depth += 1
        assert node.unread == 1
    assert depth == 5000 and node.path == path and node.label == "L4999"


def test_the_window_shows_a_nested_folder_inside_its_parent(win: MainWindow) -> None:
    model = win.sidebar
    assert model.place_at(model.index_of(TECH).parent()) == NEWS
    assert rows(model, NEWS) == [("Tech", "10"), ("Feed 0", "10")]
    assert model.index(model.index_of(NEWS).row(), 1).data() == "20"
    assert win.sidebar_view.isExpanded(model.index_of(TECH))


def test_a_feed_dropped_on_a_nested_folder_is_filed_there(win: MainWindow, qtbot: QtBot) -> None:
    model = win.sidebar
    feed_id = feed_named(win, "Feed 1")
    data = model.mimeData([model.index_of(Place("feed", feed_id))])
    target = model.index_of(TECH)
    assert model.canDropMimeData(data, Qt.DropAction.MoveAction, -1, -1, target)
    model.dropMimeData(data, Qt.DropAction.MoveAction, -1, -1, target)
    qtbot.waitUntil(lambda: win.sidebar.feeds[feed_id].folder == "News/Tech", timeout=5000)
    qtbot.waitUntil(lambda: rows(win.sidebar, TECH) == [("Feed 1", "10"), ("Feed 2", "10")])
    assert win.sidebar.index(win.sidebar.index_of(NEWS).row(), 1).data() == "30"


def test_where_a_dropped_folder_goes() -> None:
    assert moved_folder("News/Tech", None) == "Tech"
    assert moved_folder("News/Tech", "Sport") == "Sport/Tech"
    assert moved_folder("News", "Sport/Europe") == "Sport/Europe/News"
    assert moved_folder("News/Tech", "News") is None  # already there
    assert moved_folder("News", None) is None
    assert moved_folder("News", "News") is None  # into itself
    assert moved_folder("News", "News/Tech") is None  # into a folder inside it
    assert moved_folder("News", "Newsroom") == "Newsroom/News"


def test_a_folder_dragged_out_of_its_parent_takes_its_feeds_along(
    win: MainWindow, qtbot: QtBot
) -> None:
    model = win.sidebar
    win.show_place(TECH)
    data = model.mimeData(
        [model.index_of(TECH), model.index(model.index_of(TECH).row(), 1, model.index_of(NEWS))]
    )
    assert model.flags(model.index_of(TECH)) & Qt.ItemFlag.ItemIsDragEnabled
    move = Qt.DropAction.MoveAction
    assert not model.canDropMimeData(data, move, -1, -1, model.index_of(NEWS))  # its parent
    assert not model.canDropMimeData(data, move, -1, -1, model.index_of(TECH))  # itself
    assert not model.canDropMimeData(data, move, -1, -1, model.index_of(FOR_YOU))
    assert model.canDropMimeData(data, move, 0, 0, QModelIndex())
    model.dropMimeData(data, move, 0, 0, QModelIndex())
    tech = Place("folder", "Tech")
    qtbot.waitUntil(lambda: win.sidebar.index_of(tech).isValid(), timeout=5000)
    assert not win.sidebar.index_of(tech).parent().isValid()
    assert win.sidebar.feeds[feed_named(win, "Feed 2")].folder == "Tech"
    assert win.place == tech
    assert selected(win) == [tech]


def test_a_folder_is_never_dropped_into_a_folder_inside_it(win: MainWindow) -> None:
    model = win.sidebar
    data = model.mimeData([model.index_of(NEWS)])
    assert not model.canDropMimeData(data, Qt.DropAction.MoveAction, -1, -1, model.index_of(TECH))
    assert SidebarModel.dragged_folders(data) == ["News"]
    assert SidebarModel.dragged_feeds(data) == []


def test_a_folded_nested_folder_stays_folded_when_the_sidebar_reloads(
    win: MainWindow, profile: Profile, qtbot: QtBot
) -> None:
    win.sidebar_view.setExpanded(win.sidebar.index_of(TECH), False)
    tech = win.sidebar.index_of(TECH)
    resets: list[int] = []
    win.sidebar.modelReset.connect(lambda: resets.append(1))
    # an open: only counts change, so the rows are updated where they are, not rebuilt
    assert tech.siblingAtColumn(1).data() == "10"
    reading.mark_all_read(profile.db, feed_id=feed_named(win, "Feed 2"))
    win._on_overview_loaded(task.overview(profile.db))
    assert win.sidebar.index_of(TECH) == tech and not resets  # the same row, not a new one
    assert tech.siblingAtColumn(1).data() == ""
    assert not win.sidebar_view.isExpanded(tech)
    assert win.sidebar_view.isExpanded(win.sidebar.index_of(NEWS))
    # a feed more inside it: the rows are rebuilt, and the folders stay as the reader left them
    with profile.db.write() as s:
        feeds.add_feed(s, "https://example.org/more.xml", folder="News/Tech")
    win._on_overview_loaded(task.overview(profile.db))
    assert resets == [1]
    assert not win.sidebar_view.isExpanded(win.sidebar.index_of(TECH))
    assert win.sidebar_view.isExpanded(win.sidebar.index_of(NEWS))


def test_a_reload_restyles_only_what_changed_and_clears_what_no_longer_applies(
    qtbot: QtBot,
) -> None:
    """A failing, paused feed with unread articles is red, italic and bold; when it is healthy,
    resumed and read, the same row shows none of that (no stale colour or font)."""
    model = SidebarModel()
    sick = replace(
        record(1, None, 4), error_count=5, last_error="timed out", enabled=False, unread=4
    )
    assert model.update([sick, record(2, None, 2)], total_unread=6, starred=0)
    row = model.index_of(Place("feed", 1))
    assert row.data(Qt.ItemDataRole.ForegroundRole) is not None
    assert row.data(Qt.ItemDataRole.FontRole).bold() and row.data(Qt.ItemDataRole.FontRole).italic()
    assert "timed out" in row.data(Qt.ItemDataRole.ToolTipRole)
    changed: list[int] = []
    model.dataChanged.connect(
        lambda top, bottom, roles=(): changed.extend(range(top.row(), bottom.row() + 1))
    )
    assert not model.update([record(1, None, 0), record(2, None, 2)], total_unread=2, starred=0)
    assert model.index_of(Place("feed", 1)) == row  # in place
    assert row.data(Qt.ItemDataRole.ForegroundRole) is None
    assert row.data(Qt.ItemDataRole.FontRole) is None
    assert "timed out" not in row.data(Qt.ItemDataRole.ToolTipRole)
    assert row.siblingAtColumn(1).data() == ""
    assert set(changed) == {0, 1, row.row()}  # For you, Latest and the feed; not Feed 2
    assert rows(model)[:2] == [("For you", "2"), ("Latest", "2")]
    # another feed: rebuilt
    assert model.update([record(1, None, 0), record(3, None, 1)], total_unread=1, starred=0)
    assert not model.index_of(Place("feed", 2)).isValid()


def test_renaming_a_nested_folder_keeps_it_in_its_parent(
    win: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    win.show_place(TECH)
    asked: list[tuple[str, str]] = []

    def answer(parent: object, title: str, label: str, mode: object, text: str) -> tuple[str, bool]:
        asked.append((label, text))
        return "Science", True

    monkeypatch.setattr(QInputDialog, "getText", answer)
    win.folders.ask_rename()
    assert asked == [("New name (inside News):", "Tech")]
    science = Place("folder", "News/Science")
    qtbot.waitUntil(lambda: win.sidebar.index_of(science).isValid(), timeout=5000)
    assert win.sidebar.place_at(win.sidebar.index_of(science).parent()) == NEWS
    assert win.place == science
    assert win.sidebar_view.selectionModel().selectedRows() == [win.sidebar.index_of(science)]


def test_a_parent_folder_lists_the_articles_of_the_folders_inside_it(
    win: MainWindow, qtbot: QtBot
) -> None:
    win.show_place(NEWS)
    qtbot.waitUntil(lambda: not win.river.loading, timeout=5000)
    qtbot.wait(200)
    assert win.river.rowCount() == 20


def test_an_opml_list_nests_in_the_sidebar_and_exports_its_nesting(
    profile: Profile, qtbot: QtBot, tmp_path: Path
) -> None:
    source = tmp_path / "in.opml"
    source.write_text(
        '<opml version="2.0"><body>'
        '<outline text="News"><outline text="a" xmlUrl="https://a.example/rss"/>'
        '<outline text="Tech"><outline text="b" xmlUrl="https://b.example/rss"/></outline>'
        '</outline><outline text="c" xmlUrl="https://c.example/rss"/></body></opml>'
    )
    subscription.import_opml(profile.db, source)
    w = MainWindow(profile, options=QUIET)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.sidebar.index_of(TECH).isValid(), timeout=5000)
    assert rows(w.sidebar, NEWS) == [("Tech", ""), ("a", "")]
    assert rows(w.sidebar, TECH) == [("b", "")]
    w.close()
    out = tmp_path / "out.opml"
    subscription.export_opml(profile.db, out)
    text = out.read_text()
    assert text.index('text="News"') < text.index('text="Tech"') < text.index("b.example")
    again = {f.url: f.folder for f in read_opml(out.read_bytes()).feeds}
    assert again == {
        "https://a.example/rss": "News",
        "https://b.example/rss": "News/Tech",
        "https://c.example/rss": None,
    }


def selected(w: MainWindow) -> list[Place | None]:
    return [w.sidebar.place_at(i) for i in w.sidebar_view.selectionModel().selectedRows()]


def test_the_highlighted_row_follows_a_place_shown_by_code(win: MainWindow, qtbot: QtBot) -> None:
    win.show_place(FOR_YOU)
    assert selected(win) == [FOR_YOU]
    told: list[QItemSelection] = []
    win.sidebar_view.selectionModel().selectionChanged.connect(lambda s, d: told.append(d))
    win.show_place(TECH)
    assert selected(win) == [TECH]
    assert win.sidebar_view.currentIndex() == win.sidebar.index_of(TECH)
    # the view was told, so it repaints the row it highlighted before ("For you")
    assert told and win.sidebar.place_at(told[-1].indexes()[0]) == FOR_YOU
    assert win.place == TECH


def test_a_place_the_sidebar_does_not_show_yet_leaves_no_row_highlighted(
    win: MainWindow, qtbot: QtBot
) -> None:
    win.show_place(FOR_YOU)
    later = Place("folder", "Later")
    win.show_place(later)
    assert selected(win) == []
    assert win.place == later
    folder.move(win.db, [feed_named(win, "Feed 1")], "Later")
    win.reload_sidebar()
    qtbot.waitUntil(lambda: selected(win) == [later], timeout=5000)


def test_the_highlight_survives_a_reload_without_showing_the_place_again(
    win: MainWindow, profile: Profile, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    win.show_place(TECH)
    shown: list[Place] = []
    original = win.show_place

    def spy(place: Place) -> None:
        shown.append(place)
        original(place)

    monkeypatch.setattr(win, "show_place", spy)
    with profile.db.write() as s:  # a feed more: the rows are rebuilt, not updated in place
        feeds.add_feed(s, "https://example.org/more.xml", folder="News")
    with qtbot.waitSignal(win.sidebar.modelReset, timeout=5000):
        win.reload_sidebar()
    assert selected(win) == [TECH]
    assert shown == []
    win.show_place(LATEST)
    assert selected(win) == [LATEST]


def test_the_count_column_is_as_wide_as_the_largest_count(
    win: MainWindow, profile: Profile, qtbot: QtBot
) -> None:
    """Sized once per reload to For you's count (no feed has more), not by measuring every
    row whenever a count changes; it follows the counts both ways."""
    view, model = win.sidebar_view, win.sidebar
    header = view.header()

    def fits() -> bool:
        count = model.index_of(FOR_YOU).siblingAtColumn(1)
        want = max(view.sizeHintForIndex(count).width(), header.minimumSectionSize())
        return header.sectionSize(1) == want

    qtbot.waitUntil(fits, timeout=5000)
    with profile.db.write() as s:  # a hundred thousand unread is wider than thirty
        fid = feeds.add_feed(s, "https://example.org/many.xml").id
    wide = replace(record(fid, None, 123_456), url="https://example.org/many.xml")
    shown = [*win.sidebar.feeds.values(), wide]
    win.sidebar.update(shown, total_unread=123_486, starred=0)
    fit_counts(view, model)
    assert fits() and header.sectionSize(1) > header.minimumSectionSize()
    reading.mark_all_read(profile.db)
    win._on_overview_loaded(task.overview(profile.db))
    assert model.index_of(FOR_YOU).siblingAtColumn(1).data() == ""
    assert fits() and header.sectionSize(1) == header.minimumSectionSize()
