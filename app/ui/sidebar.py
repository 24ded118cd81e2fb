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
from enum import IntEnum
from typing import Any, overload

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QTreeView

from app.services.folder import SEPARATOR
from app.storage.record import FeedRecord
from app.ui import resource
from app.ui.outline import (
    FOR_YOU,
    STARRED,
    Layout,
    Look,
    Place,
    layout_of,
)

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


_PLAIN = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_FLAGS = {
    "smart": _PLAIN,
    "feed": _PLAIN | Qt.ItemFlag.ItemIsDragEnabled,
    "folder": _PLAIN | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled,
}
"""The flags of a row by the kind of its place (worked out once: the view asks for every row)."""


class SidebarModel(QAbstractItemModel):
    """Two columns (name, unread count) over a :class:`Layout`: the rows are read from its
    tuples when the view asks, so showing new rows is one reset, and an open that changes a
    few counts tells the view about those rows only.

    A tree of ``QStandardItem``s built one row at a time cost the GUI thread 13-20 ms at 500
    feeds and about 120 ms at 5,000 whenever the rows changed (a feed added, moved or
    renamed); the layout is worked out off the GUI thread (:func:`layout_of`).

    ``move_requested(list[int], str | None)`` asks to file feeds under a folder (None: none);
    ``folder_move_requested(str, str)`` asks to move a folder to a new path.
    """

    move_requested = Signal(list, object)
    folder_move_requested = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feeds: dict[int, FeedRecord] = {}
        self._layout = Layout.of([], [], [])
        self._fonts: dict[tuple[bool, bool], QFont] = {}
        self._error = QBrush(ERROR_COLOR)
        self.update([], total_unread=0, starred=0)

    def update(self, feeds: Sequence[FeedRecord], *, total_unread: int, starred: int) -> bool:
        """Show ``feeds`` (ordered by folder, then title) and the smart views' counts; returns
        whether the rows were rebuilt (see :meth:`show`)."""
        layout = layout_of(feeds, total_unread=total_unread, starred=starred)
        return self.show(layout, {f.id: f for f in feeds})

    def show(self, layout: Layout, feeds: dict[int, FeedRecord]) -> bool:
        """Show ``layout``, the rows of ``feeds`` (by id; :func:`layout_of`), keeping that
        dict as :attr:`feeds`.

        When the rows are the same places in the same order as shown (the usual case: an open
        changed a few unread counts), only the rows whose look changed are reported changed;
        otherwise the model is reset to the new rows. Returns whether it was reset (the view
        must then restore which folders are open)."""
        self.feeds = feeds
        shown = self._layout
        if not self.rebuilds(layout):
            self._layout = layout
            counts, whole = _changes(shown, layout)
            for changed, column in ((counts, 1), (whole, 0)):
                for first, last in _runs(changed, layout):
                    self.dataChanged.emit(
                        self.createIndex(layout.row[first], column, first),
                        self.createIndex(layout.row[last], 1, last),
                    )
            return False
        self.beginResetModel()
        self._layout = layout
        self.endResetModel()
        return True

    def rebuilds(self, layout: Layout) -> bool:
        """Whether showing ``layout`` rebuilds the rows (they are not those shown, in order)."""
        return layout.key != self._layout.key

    def folder_places(self) -> list[Place]:
        """Every folder shown, at any depth."""
        return [place for place in self._layout.places if place.kind == "folder"]

    def index_of(self, place: Place) -> QModelIndex:
        """The name-column index of ``place`` (invalid when it is not shown)."""
        n = self._layout.number.get(place)
        return QModelIndex() if n is None else self.createIndex(self._layout.row[n], 0, n)

    @staticmethod
    def place_at(index: QModelIndex) -> Place | None:
        """What the item at ``index`` stands for."""
        value = index.data(SidebarRole.KEY)
        return value if isinstance(value, Place) else None

    # -- the tree as Qt reads it -----------------------------------------------------------

    def index(
        self,
        row: int,
        column: int,
        parent: Index = QModelIndex(),  # noqa: B008
    ) -> QModelIndex:
        """The index of row ``row``, column ``column`` under ``parent``; its internal id is
        the row's number in the layout."""
        if not 0 <= column < 2 or row < 0:
            return QModelIndex()
        under = self._under(parent)
        return self.createIndex(row, column, under[row]) if row < len(under) else QModelIndex()

    def _under(self, parent: Index) -> tuple[int, ...]:
        """The numbers of the rows under ``parent`` (none under a count cell or a stale
        index)."""
        children = self._layout.children
        if not parent.isValid():
            return children[0]
        n = parent.internalId()  # :meth:`_number` inlined: the view asks this of every row
        return children[n + 1] if parent.column() == 0 and n + 1 < len(children) else ()

    def _number(self, index: Index) -> int | None:
        """The row number (in the layout) of a valid ``index``; None for an invalid one, or
        one a view kept from before the rows were last reset that points past them."""
        n = index.internalId()
        return n if index.isValid() and n < len(self._layout.places) else None

    @overload
    def parent(self) -> QObject | None: ...

    @overload
    def parent(self, child: Index) -> QModelIndex: ...

    def parent(self, child: Index | None = None) -> QObject | QModelIndex | None:
        """The index of the row ``child`` sits under (invalid at the top level); without
        ``child``, the model's owner (QObject's parent)."""
        if child is None:
            return super().parent()
        n = self._number(child)
        if n is None:
            return QModelIndex()
        up = self._layout.up[n]
        return QModelIndex() if up < 0 else self.createIndex(self._layout.row[up], 0, up)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return len(self._under(parent))

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 2

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Feeds and folders can be dragged, folders (and the top level) dropped on."""
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        n = self._number(index)
        return Qt.ItemFlag.NoItemFlags if n is None else _FLAGS[self._layout.places[n].kind]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """A row's look, as each role asks for it: the name column has the name, icon, font
        (bold while unread, italic while paused), red while failing and the text screen
        readers speak; the count column the unread count, right-aligned; both the tooltip
        and the place (:data:`SidebarRole.KEY`)."""
        n = self._number(index)
        if n is None:
            return None
        look = self._layout.looks[n]
        if role == SidebarRole.KEY:
            return self._layout.places[n]
        if role == Qt.ItemDataRole.ToolTipRole:
            return look.tooltip
        if index.column() == 1:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return str(look.unread) if look.unread else ""
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return look.label
        if role == Qt.ItemDataRole.DecorationRole:
            return resource.icon(look.icon)
        if role == Qt.ItemDataRole.FontRole:
            return self._font(look) if look.unread > 0 or look.paused else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._error if look.failing else None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return look.accessible or None
        return None

    def _font(self, look: Look) -> QFont:
        key = (look.unread > 0, look.paused)
        font = self._fonts.get(key)
        if font is None:
            font = self._fonts[key] = QFont()
            font.setBold(key[0])
            font.setItalic(key[1])
        return font

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


def _changes(shown: Layout, layout: Layout) -> tuple[list[int], list[int]]:
    """The numbers of the rows whose look changed from ``shown`` to ``layout`` (the same
    rows): (those whose name looks the same, only the count moved; the others)."""
    counts: list[int] = []
    whole: list[int] = []
    for n, (look, was) in enumerate(zip(layout.looks, shown.looks, strict=True)):
        if look == was:
            continue
        bold_alike = (look.unread > 0) == (was.unread > 0)
        # all but the count (field 2) alike; slices, as _replace doubled the time at 5,000 rows
        if bold_alike and look[:2] == was[:2] and look[3:] == was[3:]:
            counts.append(n)
        else:
            whole.append(n)
    return counts, whole


def _runs(changed: Sequence[int], layout: Layout) -> list[tuple[int, int]]:
    """The rows numbered ``changed`` (ascending) as runs of neighbours under one parent, each
    (first, last) by number: one signal a run. After a refresh every feed's count moves; at
    5,000 feeds a signal a row cost the GUI thread 100-160 ms (the view finds each row anew),
    and a run that starts in the name column makes the view ask every row of it whether it
    has children (so a row whose name looks the same is told from the count column)."""
    runs: list[tuple[int, int]] = []
    for n in changed:
        if runs:
            first, last = runs[-1]
            if layout.up[n] == layout.up[last] and layout.row[n] == layout.row[last] + 1:
                runs[-1] = (first, n)
                continue
        runs.append((n, n))
    return runs


def moved_folder(path: str, target: str | None) -> str | None:
    """The path the folder ``path`` gets when dropped into ``target`` (None: the top level),
    or None when that drop moves nothing or cannot be done: into its own parent, into
    itself, or into a folder inside it."""
    leaf = path.rpartition(SEPARATOR)[2]
    new = f"{target}{SEPARATOR}{leaf}" if target else leaf
    inside = target is not None and (target == path or target.startswith(path + SEPARATOR))
    return None if inside or new == path else new


def show_in(
    view: QTreeView, model: SidebarModel, layout: Layout, feeds: dict[int, FeedRecord]
) -> None:
    """Show ``layout`` (the rows of ``feeds``) in ``view``: when that rebuilds the rows, the
    folders come back open but for those the reader had folded; the count column is fitted
    to the counts (:func:`fit_counts`)."""
    folded = (
        {p for p in model.folder_places() if not view.isExpanded(model.index_of(p))}
        if model.rebuilds(layout)
        else set()
    )
    if model.show(layout, feeds):
        for place in model.folder_places():  # every folder but those the reader folded
            if place not in folded:
                view.setExpanded(model.index_of(place), True)
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
