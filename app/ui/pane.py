"""The window's three panes, built and laid out: the sidebar's tree, the river's list with
its search box and notice, and the reader with its toolbar over the explanation panel; and
the splitters' sizes kept between sessions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QSplitter,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.services import story
from app.services.highlight import highlight_rule
from app.services.preference import Preferences
from app.services.ranking import Ranking
from app.storage.database import Database
from app.ui.delegate import RiverDelegate
from app.ui.explanation import ExplanationPanel
from app.ui.reader import ReaderView
from app.ui.river import RiverModel
from app.ui.sidebar import SidebarModel
from app.ui.worker import JobRunner


@dataclass(frozen=True)
class Panes:
    """The widgets and models of the window's panes; ``splitter`` holds all three."""

    sidebar: SidebarModel
    sidebar_view: QTreeView
    river: RiverModel
    river_view: QListView
    search: QLineEdit
    notice: QLabel
    reader: ReaderView
    reader_bar: QToolBar
    explanation: ExplanationPanel
    right: QSplitter
    splitter: QSplitter


def build(
    parent: QObject,
    ranker: Ranking,
    runner: JobRunner,
    prefs: Preferences,
    db: Database | None = None,
) -> Panes:
    """The panes, their models owned by ``parent``; nothing is connected to the window yet.
    With ``db`` the river's folded rows say which other feeds carry their story."""
    sidebar = SidebarModel(parent)
    sidebar_view = QTreeView()
    sidebar_view.setObjectName("sidebar")
    sidebar_view.setModel(sidebar)
    sidebar_view.setHeaderHidden(True)
    sidebar_view.setRootIsDecorated(True)
    sidebar_view.setUniformRowHeights(True)
    sidebar_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    sidebar_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = sidebar_view.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    # as wide as the largest count (sidebar.fit_counts): sizing it to its contents measured
    # every row on each count that changed, 0.6 ms a time at 500 feeds
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
    header.resizeSection(1, header.minimumSectionSize())  # until the first counts arrive

    stories = functools.partial(story.also_in, db) if db is not None else None
    river = RiverModel(ranker, runner, parent, stories=stories)
    river_view = QListView()
    river_view.setObjectName("river")
    river_view.setModel(river)
    river_view.setItemDelegate(RiverDelegate(river_view, highlight_rule(prefs)))
    river_view.setUniformItemSizes(True)
    river_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    river_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    notice = QLabel()
    notice.setObjectName("notice")
    notice.setWordWrap(True)
    notice.hide()
    search = QLineEdit()
    search.setObjectName("search")
    search.setPlaceholderText("Search all articles  ( / )")
    search.setClearButtonEnabled(True)
    river_pane = QWidget()
    river_layout = QVBoxLayout(river_pane)
    river_layout.setContentsMargins(0, 0, 0, 0)
    river_layout.setSpacing(0)
    river_layout.addWidget(search)
    river_layout.addWidget(notice)
    river_layout.addWidget(river_view)

    reader = ReaderView()
    reader_bar = QToolBar()
    reader_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    explanation = ExplanationPanel()
    explanation.hide()
    reader_pane = QWidget()
    reader_layout = QVBoxLayout(reader_pane)
    reader_layout.setContentsMargins(0, 0, 0, 0)
    reader_layout.setSpacing(0)
    reader_layout.addWidget(reader_bar)
    reader_layout.addWidget(reader)
    right = QSplitter(Qt.Orientation.Vertical)
    right.addWidget(reader_pane)
    right.addWidget(explanation)
    right.setStretchFactor(0, 3)
    right.setStretchFactor(1, 2)

    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(sidebar_view)
    splitter.addWidget(river_pane)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setStretchFactor(2, 2)
    splitter.setSizes([260, 430, 590])
    return Panes(
        sidebar,
        sidebar_view,
        river,
        river_view,
        search,
        notice,
        reader,
        reader_bar,
        explanation,
        right,
        splitter,
    )


def restore_layout(window: QMainWindow, panes: Panes, settings: QSettings) -> None:
    """The window's geometry and the splitters' sizes as they were saved, where they were."""
    geometry = settings.value("geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    for key, splitter in (("splitter", panes.splitter), ("right", panes.right)):
        state = settings.value(key)
        if state is not None:
            splitter.restoreState(state)


def save_layout(window: QMainWindow, panes: Panes, settings: QSettings) -> None:
    settings.setValue("geometry", window.saveGeometry())
    settings.setValue("splitter", panes.splitter.saveState())
    settings.setValue("right", panes.right.saveState())
    settings.sync()
