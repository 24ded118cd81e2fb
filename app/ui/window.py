"""The main window: sidebar, river and reader, with the menus, shortcuts and background work
that tie them to the services."""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSplitter,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.services import preference
from app.services.highlight import highlight_rule
from app.services.profile import Profile
from app.services.ranking import Ranking, River
from app.services.remote import RemoteRanker
from app.services.river import RiverFilter
from app.ui import access, crash, resource, task
from app.ui.activity import ActivityDock
from app.ui.admin import FeedAdmin
from app.ui.article import ArticleDesk
from app.ui.catchup import CatchUp
from app.ui.delegate import RiverDelegate
from app.ui.explanation import ExplanationPanel
from app.ui.feedback import FeedbackDialog
from app.ui.folder import FolderDesk
from app.ui.fulltext import FullTextDesk
from app.ui.impression import ImpressionTracker
from app.ui.notification import Notifier
from app.ui.reader import ReaderView
from app.ui.river import RiverModel, RiverQuery
from app.ui.schedule import Scheduler
from app.ui.sidebar import FOR_YOU, STARRED, Place, SidebarModel, highlight
from app.ui.tray import TrayIcon
from app.ui.welcome import WelcomeDialog, show_welcome
from app.ui.worker import JobRunner

log = logging.getLogger(__name__)

STATUS_MS = 8000
LOG_LINES = 2000


@dataclass(frozen=True)
class WindowOptions:
    """What the window starts on its own; tests switch all of it off."""

    preload: bool = True
    auto_refresh: bool = True
    first_run: bool = True
    train_schedule: bool = True


QUIET = WindowOptions(preload=False, auto_refresh=False, first_run=False, train_schedule=False)


class MainWindow(QMainWindow):
    """Three panes: sidebar (views, folders, feeds), river (articles), reader (one article)."""

    def __init__(
        self,
        profile: Profile,
        *,
        options: WindowOptions | None = None,
        ranker: Ranking | None = None,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.db = profile.db
        self.options = options or WindowOptions()
        self.prefs = preference.load(self.db)
        if self.prefs.cpu_threads and "torch" not in sys.modules:
            os.environ.setdefault("OMP_NUM_THREADS", str(self.prefs.cpu_threads))
        self._owns_ranker = ranker is None
        self.ranker: Ranking = ranker or RemoteRanker(
            profile, device=None if self.prefs.device == "auto" else self.prefs.device
        )
        self.runner = JobRunner(self, database=self.db.path)
        self.scheduler = Scheduler(self)
        self.admin = FeedAdmin(self)
        self.settings = QSettings(
            str(profile.paths.root / "window.ini"), QSettings.Format.IniFormat, self
        )
        self.activity: deque[tuple[datetime, int | None, str]] = deque(maxlen=LOG_LINES)
        self.place: Place = FOR_YOU
        self.feedback_dialog: FeedbackDialog | None = None
        self.welcome: WelcomeDialog | None = None
        self._started = False
        self._closed = False

        self.setWindowTitle("Heedful")
        self.setWindowIcon(resource.icon("heedful"))
        self._build_panes()
        self.desk = ArticleDesk(self)
        self.explanation.feedback_asked.connect(self.desk.feedback_on_explained)
        self._build_actions()
        self._build_status()
        self.folders = FolderDesk(self)  # the folder rows' menu and the sidebar's drag and drop
        self.fulltext = FullTextDesk(self)  # adds its actions to the menus built above
        self.catchup = CatchUp(self)
        self.tray = TrayIcon(self)
        self.notifier = Notifier(self)
        self.activity_dock = ActivityDock(self)
        access.name_widgets(self)
        self.impressions = ImpressionTracker(
            self.river_view, self.river, self.db, self.runner, parent=self
        )
        self.runner.problem.connect(self._on_runner_problem)
        self.runner.crashed.connect(self._on_runner_crashed)
        self.sidebar_timer = QTimer(self)
        self.sidebar_timer.setSingleShot(True)
        self.sidebar_timer.setInterval(150)
        self.sidebar_timer.timeout.connect(self._on_sidebar_timer_timeout)
        self.scheduler.apply_timers()
        self._restore_layout()
        self.reload_sidebar()
        self.show_place(FOR_YOU)

    # -- construction ----------------------------------------------------------------------

    def _build_panes(self) -> None:
        self.sidebar = SidebarModel(self)
        self.sidebar_view = QTreeView()
        self.sidebar_view.setObjectName("sidebar")
        self.sidebar_view.setModel(self.sidebar)
        self.sidebar_view.setHeaderHidden(True)
        self.sidebar_view.setRootIsDecorated(True)
        self.sidebar_view.setUniformRowHeights(True)
        self.sidebar_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.sidebar_view.customContextMenuRequested.connect(
            self._on_sidebar_view_custom_context_menu_requested
        )
        self.sidebar_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.sidebar_view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.sidebar_view.selectionModel().selectionChanged.connect(
            self._on_sidebar_selection_changed
        )

        self.river = RiverModel(self.ranker, self.runner, self)
        self.river.loaded.connect(self._on_river_loaded)
        self.river_view = QListView()
        self.river_view.setObjectName("river")
        self.river_view.setModel(self.river)
        self.river_view.setItemDelegate(RiverDelegate(self.river_view, highlight_rule(self.prefs)))
        self.river_view.setUniformItemSizes(True)
        self.river_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.river_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search all articles  ( / )")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(350)
        self.search_timer.timeout.connect(self._on_search_return_pressed)
        river_pane = QWidget()
        river_layout = QVBoxLayout(river_pane)
        river_layout.setContentsMargins(0, 0, 0, 0)
        river_layout.setSpacing(0)
        river_layout.addWidget(self.search)
        river_layout.addWidget(self.notice)
        river_layout.addWidget(self.river_view)

        self.reader = ReaderView()
        self.reader_bar = QToolBar()
        self.reader_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.explanation = ExplanationPanel()
        self.explanation.hide()
        reader_pane = QWidget()
        reader_layout = QVBoxLayout(reader_pane)
        reader_layout.setContentsMargins(0, 0, 0, 0)
        reader_layout.setSpacing(0)
        reader_layout.addWidget(self.reader_bar)
        reader_layout.addWidget(self.reader)
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.addWidget(reader_pane)
        self.right.addWidget(self.explanation)
        self.right.setStretchFactor(0, 3)
        self.right.setStretchFactor(1, 2)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar_view)
        self.splitter.addWidget(river_pane)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([260, 430, 590])
        self.setCentralWidget(self.splitter)
        self.resize(1280, 800)

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: str | QKeySequence.StandardKey | None = None,
        icon: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(resource.icon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_next = a("Next article", self.desk.next_article, "J")
        self.act_prev = a("Previous article", self.desk.previous_article, "K")
        self.act_space = a("Scroll or next", self.desk.scroll_or_next, "Space")
        self.act_open = a("Open in browser", self.desk.open_in_browser, "O", "browser")
        self.act_read = a("Mark read / unread", self.desk.toggle_read, "M")
        self.act_star = a("Star / unstar", self.desk.toggle_star, "S", "star")
        self.act_why = a("Why this?", self.desk.explain_current, "W", "why")
        self.act_more = a("More like this", self.desk.more_like_this, "+")
        self.act_less = a("Less like this", self.desk.less_like_this, "-")
        self.act_fewer = a("Fewer from this feed", self.desk.fewer_from_feed)
        self.act_refresh = a("Refresh", self.scheduler.refresh_all, "R", "refresh")
        self.act_search = a("Search", self._on_search_triggered, "/")
        self.act_all_read = a("Mark all as read", self.desk.mark_all_read, "Shift+A")
        self.act_help = a("Keyboard shortcuts", self.admin.show_help, "?")
        self.act_images = a("Load images", self.desk.load_images, None, "image")
        self.act_add = a("Add feed…", self.admin.ask_add_feed, "Ctrl+N", "feed")
        self.act_import = a("Import OPML…", self.admin.ask_import)
        self.act_export = a("Export OPML…", self.admin.ask_export)
        self.act_settings = a(
            "Settings…", self.admin.edit_settings, QKeySequence.StandardKey.Preferences
        )
        self.act_quit = a("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_props = a("Feed properties…", self.admin.edit_feed)
        self.act_delete = a("Delete feed…", self.admin.ask_delete_feed)
        self.act_delete_failed = a("Delete failed feeds…", self.admin.ask_delete_failed)
        self.act_refresh_feed = a("Refresh this feed", self.scheduler.refresh_selected_feed)
        self.act_mute = a("Mute rules…", self.admin.edit_mute_rules)
        self.act_log = a("Activity log…", self.admin.show_activity_log)
        self.act_train = a("Train now", self.scheduler.train_now, None, "train")
        self.act_model = a("Model…", self.scheduler.show_model_page, None, "train")
        self.act_feedback = a("Your feedback…", self.show_feedback)
        self.act_about = a("About Heedful", self.admin.show_about)
        self.act_show_read = a("Show read articles", self._on_show_read_toggled)
        self.act_show_read.setCheckable(True)
        escape = QShortcut(QKeySequence("Escape"), self.search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self._on_search_escape)
        enter = QShortcut(QKeySequence("Return"), self.river_view)
        enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        enter.activated.connect(self.desk.open_in_browser)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.act_import, self.act_export, self.act_settings, self.act_quit):
            file_menu.addAction(action)
        article_menu = menu.addMenu("&Article")
        for action in (
            self.act_next,
            self.act_prev,
            self.act_open,
            self.act_read,
            self.act_star,
            self.act_why,
            self.act_more,
            self.act_less,
            self.act_fewer,
            self.act_images,
            self.act_all_read,
        ):
            article_menu.addAction(action)
        feeds_menu = menu.addMenu("F&eeds")
        for action in (
            self.act_refresh,
            self.act_add,
            self.act_props,
            self.act_refresh_feed,
            self.act_delete,
            self.act_delete_failed,
            self.act_mute,
            self.act_log,
        ):
            feeds_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.act_show_read)
        model_menu = menu.addMenu("&Model")
        model_menu.addAction(self.act_train)
        model_menu.addAction(self.act_model)
        model_menu.addAction(self.act_feedback)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.act_help)
        help_menu.addAction(self.act_about)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.act_refresh)
        toolbar.addAction(self.act_add)
        toolbar.addSeparator()
        toolbar.addAction(self.act_model)
        for action in (
            self.act_open,
            self.act_star,
            self.act_why,
            self.act_more,
            self.act_less,
            self.act_images,
        ):
            self.reader_bar.addAction(action)
        self.river_menu = QMenu(self)
        for action in (
            self.act_open,
            self.act_star,
            self.act_why,
            self.act_more,
            self.act_less,
            self.act_fewer,
        ):
            self.river_menu.addAction(action)
        self.river_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.river_view.customContextMenuRequested.connect(
            self._on_river_view_custom_context_menu_requested
        )
        self.sidebar_menu = QMenu(self)
        for action in (
            self.act_refresh_feed,
            self.act_props,
            self.act_all_read,
            self.act_delete,
        ):
            self.sidebar_menu.addAction(action)
        self.desk.update_actions()

    def _build_status(self) -> None:
        self.progress_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.statusBar().addPermanentWidget(self.progress_label)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for key, splitter in (("splitter", self.splitter), ("right", self.right)):
            state = self.settings.value(key)
            if state is not None:
                splitter.restoreState(state)

    def _save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("splitter", self.splitter.saveState())
        self.settings.setValue("right", self.right.saveState())
        self.settings.sync()

    # -- life cycle ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._started:
            self._started = True
            QTimer.singleShot(300, self._on_first_paint)

    @Slot()
    def _on_first_paint(self) -> None:
        if self._closed:
            return
        if self.options.preload:
            self.runner.submit("loading the model", task.preload, self.ranker)
        if self.options.first_run:
            self.runner.submit(
                "starting up", task.startup, self.db, None, done=self._on_startup_done
            )
        elif self.options.auto_refresh:
            self.scheduler.refresh(due_only=True)

    @Slot(object)
    def _on_startup_done(self, result: task.Startup) -> None:
        if result.first_run:
            self.welcome = show_welcome(self)  # subscribes to nothing until the reader chooses
            self.reload_sidebar()
        if self.options.auto_refresh:
            self.scheduler.refresh(due_only=True)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Record the open article, stop timers and background work, save the layout."""
        if self._closed:
            return
        self._closed = True
        self.desk.leave()
        self.impressions.stop()
        self.search_timer.stop()
        self.sidebar_timer.stop()
        self.scheduler.shutdown()
        if self._owns_ranker:
            self.ranker.close()  # ends the model's helper processes; calls in flight fail fast
        self.runner.shutdown()
        self._save_layout()

    # -- status ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A message in the status bar."""
        self.statusBar().showMessage(text, STATUS_MS)

    def log_activity(self, feed_id: int | None, text: str) -> None:
        self.activity.append((datetime.now().astimezone(), feed_id, text))

    @Slot(str)
    def _on_runner_problem(self, message: str) -> None:
        self.say(message)

    @Slot(str)
    def _on_runner_crashed(self, details: str) -> None:
        self.say("Something went wrong; see the log for details.")
        crash.show_crash(details, self)

    # -- sidebar ---------------------------------------------------------------------------

    def reload_sidebar(self) -> None:
        """Reload feeds and counts soon (off the GUI thread); bursts of calls load once."""
        if not self._closed:
            self.sidebar_timer.start()

    @Slot()
    def _on_sidebar_timer_timeout(self) -> None:
        self.runner.submit("loading feeds", task.overview, self.db, done=self._on_overview_loaded)

    @Slot(object)
    def _on_overview_loaded(self, overview: task.Overview) -> None:
        self.tray.set_unread(overview.stats.unread)
        selection = self.sidebar_view.selectionModel()
        collapsed = [
            place
            for place in self.sidebar.folder_places()
            if not self.sidebar_view.isExpanded(self.sidebar.index_of(place))
        ]
        selection.blockSignals(True)
        try:
            self.sidebar.update(
                overview.feeds, total_unread=overview.stats.unread, starred=overview.stats.starred
            )
            self.sidebar_view.expandAll()
            for place in collapsed:
                self.sidebar_view.setExpanded(self.sidebar.index_of(place), False)
        finally:
            selection.blockSignals(False)
        highlight(self.sidebar_view, self.sidebar, self.place, scroll=False)
        self.sidebar_view.viewport().update()

    @Slot(QItemSelection, QItemSelection)
    def _on_sidebar_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        indexes = selected.indexes()
        place = self.sidebar.place_at(indexes[0]) if indexes else None
        if place is not None and place != self.place:
            self.show_place(place)

    @Slot(QPoint)
    def _on_sidebar_view_custom_context_menu_requested(self, pos: QPoint) -> None:
        index = self.sidebar_view.indexAt(pos)
        place = self.sidebar.place_at(index) if index.isValid() else None
        if place is None:
            return
        if place != self.place:
            self.show_place(place)
        menu = self.folders.menu if place.kind == "folder" else self.sidebar_menu
        menu.popup(self.sidebar_view.viewport().mapToGlobal(pos))

    @Slot()
    def show_feedback(self) -> None:
        """Open the list of the reader's explicit feedback, where each can be undone."""
        if self.feedback_dialog is None:
            self.feedback_dialog = FeedbackDialog(self.db, self.runner, self)
        self.feedback_dialog.reload()
        self.feedback_dialog.show()
        self.feedback_dialog.raise_()

    @Slot(QPoint)
    def _on_river_view_custom_context_menu_requested(self, pos: QPoint) -> None:
        index = self.river_view.indexAt(pos)
        if not index.isValid():
            return
        if self.river_view.currentIndex() != index:
            self.river_view.setCurrentIndex(index)
        self.river_menu.popup(self.river_view.viewport().mapToGlobal(pos))

    def show_place(self, place: Place) -> None:
        """Show a smart view, folder or feed in the river."""
        self.desk.leave()
        self.place = place
        for action in (self.act_refresh_feed, self.act_props, self.act_delete):
            action.setEnabled(place.kind == "feed")
        highlight(self.sidebar_view, self.sidebar, place)
        self.river.set_query(self._query())
        self.impressions.forget()
        self.reader.show_placeholder()
        self.explanation.hide()
        self.desk.update_actions()

    def _query(self) -> RiverQuery:
        search = self.search.text().strip() or None
        place = self.place
        starred = place == STARRED
        view = RiverFilter(
            include_read=self.act_show_read.isChecked() or starred,  # starred: read ones too
            feed_id=place.feed_id,
            folder=place.folder,
            starred_only=starred,
            search=search,
        )
        return RiverQuery(ranked=place == FOR_YOU, view=view)

    @Slot()
    def _on_show_read_toggled(self) -> None:
        self.desk.leave()
        self.river.set_query(self._query())
        self.reader.show_placeholder()

    def after_feeds_moved(self) -> None:
        """Show feeds where they were filed: the sidebar, and a folder's river at once."""
        self.reload_sidebar()
        if self.place.kind == "folder":
            self.show_place(self.place)

    def current_feed_id(self) -> int | None:
        """The feed selected in the sidebar, if any."""
        return self.place.feed_id

    # -- river -----------------------------------------------------------------------------

    @Slot(object)
    def _on_river_loaded(self, river: River) -> None:
        notice = self.river.notice
        if river.muted:
            notice = (notice + " " if notice else "") + (
                f"{river.muted} muted {'headline is' if river.muted == 1 else 'headlines are'} "
                "dimmed at the end."
            )
        self.notice.setText(notice)
        self.notice.setVisible(bool(notice))
        if self.river.rowCount() == 0 and not self.river.loading:
            text = "Nothing unread here."
            if self.search.text().strip():
                text = "No article matches the search."
            self.reader.show_placeholder(text)

    def selected_index(self) -> QModelIndex:
        """The selected river row (invalid when none)."""
        selected = self.river_view.selectionModel().selectedIndexes()
        return selected[0] if selected else QModelIndex()

    @Slot()
    def _on_search_triggered(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    @Slot()
    def _on_search_escape(self) -> None:
        if self.search.text():
            self.search.clear()
        self.river_view.setFocus()

    @Slot(str)
    def _on_search_text_changed(self, text: str) -> None:
        self.search_timer.start()

    @Slot()
    def _on_search_return_pressed(self) -> None:
        self.search_timer.stop()
        query = self._query()
        if query != self.river.query:
            self.desk.leave()
            self.river.set_query(query)
            self.reader.show_placeholder()

    def refresh(self, feed_ids: list[int] | None = None, *, due_only: bool = False) -> bool:
        """Refresh feeds in the background (see :meth:`Scheduler.refresh`)."""
        return self.scheduler.refresh(feed_ids, due_only=due_only)

    def train(self, *, epochs: int | None = None) -> bool:
        """Start a training round now (see :meth:`Scheduler.train`)."""
        return self.scheduler.train(epochs=epochs)

    def reload_river_if_idle(self) -> None:
        """Reload the river unless the reader is in the middle of it."""
        if self.reader.article is None or self.river.rowCount() == 0:
            self.river.reload()
        else:
            self.say("New articles arrived; they show when you next open a view.")
