"""The sidebar: smart views, then folders and feeds with unread counts and error markers.

A folder is the path stored on its feeds ("News/Tech", as OPML import writes it), so folders
nest: "Tech" is shown inside "News", and a folder's unread count is that of its own feeds and of
every folder inside it. Inside a folder its folders come first, by name, then its feeds.

Feeds can be dragged onto a folder (or between top-level rows, for no folder), and so can a
folder, with everything inside it (never into itself or a folder inside it); the model does not
move the row itself but asks for the move (:attr:`SidebarModel.move_requested`,
:attr:`SidebarModel.folder_move_requested`), and is rebuilt from storage once it is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from PySide6.QtCore import (
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTreeView

from app.services.feed import is_failing
from app.services.folder import SEPARATOR
from app.storage.record import FeedRecord
from app.ui import resource

log = logging.getLogger(__name__)

ERROR_COLOR = QColor(214, 39, 40)

FEED_MIME = "application/x-heedful-feed-ids"
"""The drag payload of feeds: the dragged feeds' ids, comma-separated."""
FOLDER_MIME = "application/x-heedful-folders"
"""The drag payload of folders: their paths as a JSON array."""

Index = QModelIndex | QPersistentModelIndex


class SidebarRole(IntEnum):
    """Data roles of sidebar items."""

    KEY = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Place:
    """What a sidebar item stands for: a smart view ("foryou", "latest", "starred"), a folder
    (by name) or a feed (by id)."""

    kind: str
    value: str | int

    @property
    def feed_id(self) -> int | None:
        return int(self.value) if self.kind == "feed" else None

    @property
    def folder(self) -> str | None:
        return str(self.value) if self.kind == "folder" else None


FOR_YOU = Place("smart", "foryou")
LATEST = Place("smart", "latest")
STARRED = Place("smart", "starred")
SMART = ((FOR_YOU, "For you", "foryou"), (LATEST, "Latest", "latest"), (STARRED, "Starred", "star"))


@dataclass
class FolderNode:
    """A folder of the sidebar's tree: its path, the name shown, the unread count of all it
    holds, its folders by name, and its own feeds in the order given."""

    path: str
    label: str
    unread: int = 0
    folders: dict[str, FolderNode] = field(default_factory=dict)
    feeds: list[FeedRecord] = field(default_factory=list)


def folder_tree(feeds: Sequence[FeedRecord]) -> FolderNode:
    """The folders of ``feeds`` as a tree under a nameless root, which holds the feeds filed
    nowhere. Each part of a feed's folder path is a folder ("News/Tech": "Tech" inside "News"),
    and every folder on the path counts the feed's unread articles."""
    root = FolderNode("", "")
    for feed in feeds:
        node = root
        if feed.folder:
            parts = feed.folder.split(SEPARATOR)
            for depth, part in enumerate(parts, 1):
                child = node.folders.get(part)
                if child is None:
                    path = SEPARATOR.join(parts[:depth])
                    child = node.folders[part] = FolderNode(path, part.strip() or path)
                child.unread += feed.unread
                node = child
        node.feeds.append(feed)
    return root


class Look(NamedTuple):
    """How one sidebar row looks: the name, its icon's name, the unread count (bold when
    any), the tooltip, whether it is failing (red) or paused (italic), and the text screen
    readers speak for it ("" for the name alone). A tuple, so that comparing thousands of
    rows with those shown costs the GUI thread next to nothing."""

    label: str
    icon: str
    unread: int
    tooltip: str = ""
    failing: bool = False
    paused: bool = False
    accessible: str = ""


@dataclass(frozen=True)
class Layout:
    """The sidebar's rows in the order they are shown: each row's place, the place of the row
    it sits under (None: the top level) and its look; ``key`` is the same in plain values, to
    tell at C speed whether the rows are those shown. Built off the GUI thread
    (:func:`layout_of`), shown with :meth:`SidebarModel.show`."""

    places: tuple[Place, ...]
    parents: tuple[Place | None, ...]
    looks: tuple[Look, ...]
    key: tuple[tuple[str, str | int, str, str | int], ...]


def _feed_look(feed: FeedRecord) -> Look:
    failing = is_failing(feed)
    tip = [feed.title or feed.url, feed.url]
    if failing:
        tip.append(f"Error ({feed.error_count}× in a row): {feed.last_error}")
    if not feed.enabled:
        tip.append("Paused: not refreshed")
    return Look(
        feed.title or feed.url,
        "error" if failing else "feed",
        feed.unread,
        "\n".join(tip),
        failing,
        not feed.enabled,
    )


def layout_of(feeds: Sequence[FeedRecord], *, total_unread: int, starred: int) -> Layout:
    """The rows that show ``feeds`` and the smart views' counts: the smart views, then the
    folder tree of ``feeds`` (:func:`folder_tree`); inside a folder its folders by name,
    then its feeds in the order given. Pure: safe off the GUI thread."""
    counts = {FOR_YOU: total_unread, LATEST: total_unread, STARRED: starred}
    rows: list[tuple[Place, Place | None, Look]] = [
        (place, None, Look(label, icon, counts[place])) for place, label, icon in SMART
    ]
    # Iterative, not recursive: a folder path typed by hand may be deeper than the stack.
    stack: list[tuple[FolderNode, Place | None]] = [(folder_tree(feeds), None)]
    while stack:
        node, parent = stack.pop()
        for child in sorted(node.folders.values(), key=lambda n: (n.label.lower(), n.path)):
            where = f"folder inside {node.label}" if node.path else "folder"
            place = Place("folder", child.path)
            look = Look(
                child.label,
                "folder",
                child.unread,
                child.path,
                accessible=f"{child.label}, {where}, {child.unread} unread",
            )
            rows.append((place, parent, look))
            stack.append((child, place))
        rows.extend((Place("feed", f.id), parent, _feed_look(f)) for f in node.feeds)
    key = tuple(
        (p.kind, p.value, "", "") if up is None else (p.kind, p.value, up.kind, up.value)
        for p, up, _ in rows
    )
    return Layout(
        tuple(p for p, _, _ in rows),
        tuple(up for _, up, _ in rows),
        tuple(k for *_, k in rows),
        key,
    )


class SidebarModel(QStandardItemModel):
    """Two columns (name, unread count), built from plain feed records: rebuilt when the rows
    change, restyled in place when only their counts or looks do.

    ``move_requested(list[int], str | None)`` asks to file feeds under a folder (None: none);
    ``folder_move_requested(str, str)`` asks to move a folder to a new path.
    """

    move_requested = Signal(list, object)
    folder_move_requested = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, 2, parent)
        self.feeds: dict[int, FeedRecord] = {}
        self._items: dict[Place, QStandardItem] = {}
        self._counts: dict[Place, QStandardItem] = {}
        self._layout = Layout((), (), (), ())
        self.update([], total_unread=0, starred=0)

    def update(self, feeds: Sequence[FeedRecord], *, total_unread: int, starred: int) -> bool:
        """Show ``feeds`` (ordered by folder, then title) and the smart views' counts; returns
        whether the rows were rebuilt (see :meth:`show`)."""
        return self.show(layout_of(feeds, total_unread=total_unread, starred=starred), feeds)

    def show(self, layout: Layout, feeds: Sequence[FeedRecord]) -> bool:
        """Show ``layout``, the rows of ``feeds`` (:func:`layout_of`).

        When the rows are the same places in the same order as shown (the usual case: an open
        changed a few unread counts), only the rows whose look changed are touched, in place:
        rebuilding every row made each reload cost 12-20 ms of the GUI thread at 500 feeds
        and 115-150 ms at 5,000, after every open. Returns whether the rows were rebuilt (the
        view must then restore which folders are open)."""
        self.feeds = {f.id: f for f in feeds}
        shown = self._layout
        if not self.rebuilds(layout):
            for place, look, was in zip(layout.places, layout.looks, shown.looks, strict=True):
                if look != was:
                    self._restyle(self._items[place], self._counts[place], look)
            self._layout = layout
            return False
        self.removeRows(0, self.rowCount())
        self._items, self._counts = {}, {}
        for place, up, look in zip(layout.places, layout.parents, layout.looks, strict=True):
            name, count = QStandardItem(), QStandardItem()
            for cell in (name, count):
                cell.setData(place, SidebarRole.KEY)
                cell.setEditable(False)
                cell.setDragEnabled(place.kind in ("feed", "folder"))
                cell.setDropEnabled(place.kind == "folder")
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._restyle(name, count, look)
            (self.invisibleRootItem() if up is None else self._items[up]).appendRow([name, count])
            self._items[place], self._counts[place] = name, count
        self._layout = layout
        return True

    def rebuilds(self, layout: Layout) -> bool:
        """Whether showing ``layout`` rebuilds the rows (they are not those shown, in order)."""
        return layout.key != self._layout.key

    def folder_places(self) -> list[Place]:
        """Every folder shown, at any depth."""
        return [place for place in self._items if place.kind == "folder"]

    @staticmethod
    def _restyle(name: QStandardItem, count: QStandardItem, look: Look) -> None:
        """Give one row (its name and count cells) ``look``; roles it does not need are
        cleared, so that the view's defaults apply."""
        name.setText(look.label)
        name.setIcon(resource.icon(look.icon))
        if look.unread > 0 or look.paused:
            font = QFont()
            font.setBold(look.unread > 0)
            font.setItalic(look.paused)
            name.setFont(font)
        else:
            name.setData(None, Qt.ItemDataRole.FontRole)
        name.setData(QBrush(ERROR_COLOR) if look.failing else None, Qt.ItemDataRole.ForegroundRole)
        name.setData(look.accessible or None, Qt.ItemDataRole.AccessibleTextRole)
        count.setText(str(look.unread) if look.unread else "")
        for cell in (name, count):
            cell.setToolTip(look.tooltip)

    def index_of(self, place: Place) -> QModelIndex:
        """The name-column index of ``place`` (invalid when it is not shown)."""
        item = self._items.get(place)
        return item.index() if item is not None else QModelIndex()

    @staticmethod
    def place_at(index: QModelIndex) -> Place | None:
        """What the item at ``index`` stands for."""
        value = index.data(SidebarRole.KEY)
        return value if isinstance(value, Place) else None

    # -- drag and drop ---------------------------------------------------------------------

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [FEED_MIME, FOLDER_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        """The dragged feeds' ids and folders' paths (smart views are left out)."""
        ids: list[int] = []
        paths: list[str] = []
        for index in indexes:
            place = self.place_at(index)
            if place is not None and place.feed_id is not None and place.feed_id not in ids:
                ids.append(place.feed_id)
            if place is not None and place.folder is not None and place.folder not in paths:
                paths.append(place.folder)
        data = QMimeData()
        data.setData(FEED_MIME, QByteArray(",".join(map(str, ids)).encode()))
        data.setData(FOLDER_MIME, QByteArray(json.dumps(paths).encode()))
        return data

    @staticmethod
    def dragged_folders(data: QMimeData) -> list[str]:
        """The folder paths a drag carries (none when it carries something else)."""
        if not data.hasFormat(FOLDER_MIME):
            return []
        try:
            paths = json.loads(bytes(data.data(FOLDER_MIME).data()).decode())
        except ValueError:
            return []
        if not isinstance(paths, list):
            return []
        return [path for path in paths if isinstance(path, str) and path]

    @staticmethod
    def dragged_feeds(data: QMimeData) -> list[int]:
        """The feed ids a drag carries (none when it carries something else)."""
        if not data.hasFormat(FEED_MIME):
            return []
        text = bytes(data.data(FEED_MIME).data()).decode(errors="replace")
        return [int(part) for part in text.split(",") if part.isdigit()]

    def drop_target(self, parent: Index) -> tuple[bool, str | None]:
        """Where a drop under ``parent`` files feeds: (allowed, folder). Between top-level rows
        means no folder; on a folder, or between its feeds, that folder; elsewhere nowhere."""
        if not parent.isValid():
            return True, None
        place = self.place_at(self.index(parent.row(), 0, parent.parent()))
        if place is not None and place.folder is not None:
            return True, place.folder
        return False, None

    def _folder_moves(self, data: QMimeData, parent: Index) -> list[tuple[str, str]]:
        allowed, target = self.drop_target(parent)
        if not allowed:
            return []
        moves = [(path, moved_folder(path, target)) for path in self.dragged_folders(data)]
        return [(old, new) for old, new in moves if new is not None]

    def canDropMimeData(  # noqa: N802
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        if self.dragged_feeds(data):
            return self.drop_target(parent)[0]
        return bool(self._folder_moves(data, parent))

    def dropMimeData(  # noqa: N802
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        """Ask for the move, and answer False: the rows stay until the sidebar is rebuilt
        from storage, and the view must not remove the dragged row itself."""
        if action == Qt.DropAction.IgnoreAction:
            return False
        ids = self.dragged_feeds(data)
        allowed, folder = self.drop_target(parent)
        if ids and allowed:
            self.move_requested.emit(ids, folder)
        for old, new in self._folder_moves(data, parent):
            self.folder_move_requested.emit(old, new)
        return False


def moved_folder(path: str, target: str | None) -> str | None:
    """The path the folder ``path`` gets when dropped into ``target`` (None: the top level),
    or None when that drop moves nothing or cannot be done: into its own parent, into
    itself, or into a folder inside it."""
    leaf = path.rpartition(SEPARATOR)[2]
    new = f"{target}{SEPARATOR}{leaf}" if target else leaf
    inside = target is not None and (target == path or target.startswith(path + SEPARATOR))
    return None if inside or new == path else new


def show_in(
    view: QTreeView, model: SidebarModel, layout: Layout, feeds: Sequence[FeedRecord]
) -> None:
    """Show ``layout`` (the rows of ``feeds``) in ``view``: when that rebuilds the rows, the
    folders come back open but for those the reader had folded; the count column is fitted
    to the counts (:func:`fit_counts`)."""
    folded = (
        [p for p in model.folder_places() if not view.isExpanded(model.index_of(p))]
        if model.rebuilds(layout)
        else []
    )
    if model.show(layout, feeds):
        view.expandAll()
        for place in folded:
            view.setExpanded(model.index_of(place), False)
    fit_counts(view, model)


def fit_counts(view: QTreeView, model: SidebarModel) -> None:
    """Make ``view``'s count column as wide as the largest count it shows: For you's or
    Starred's, as no feed or folder has more unread than all of them together."""
    header = view.header()
    width = max(
        header.minimumSectionSize(),
        *(
            view.sizeHintForIndex(model.index_of(place).siblingAtColumn(1)).width()
            for place in (FOR_YOU, STARRED)
        ),
    )
    if width != header.sectionSize(1):
        header.resizeSection(1, width)


def highlight(
    view: QAbstractItemView, model: SidebarModel, place: Place, *, scroll: bool = True
) -> None:
    """Highlight ``place`` in the sidebar ``view``: its row becomes the current and only selected
    one, or no row is selected while it is not shown. With ``scroll`` the view scrolls to the row
    (opening its folders); without, it stays where the reader left it.

    The selection's signals are left on so that the view repaints both rows; a handler that
    shows the selected place must therefore ignore the place already shown.
    """
    index = model.index_of(place)
    if not index.isValid():
        view.clearSelection()
        return
    bar = view.verticalScrollBar()
    top = bar.value()
    if view.currentIndex() != index or not view.selectionModel().isSelected(index):
        view.setCurrentIndex(index)
    if scroll:
        view.scrollTo(index)
    else:
        bar.setValue(top)
