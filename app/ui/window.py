"""The main window: sidebar, river and reader, with the menus, shortcuts and background work
that tie them to the services."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar

from app.services import lifeline, preference
from app.services.profile import Profile
from app.services.ranking import Ranking, River
from app.services.river import RiverFilter
from app.ui import access, crash, menu, pane, resource, task, wiring
from app.ui.activity import ActivityDock
from app.ui.admin import FeedAdmin
from app.ui.article import ArticleDesk
from app.ui.catchup import CatchUp
from app.ui.feedback import FeedbackDialog
from app.ui.folder import FolderDesk
from app.ui.fulltext import FullTextDesk
from app.ui.impression import ImpressionTracker
from app.ui.notification import Notifier
from app.ui.outline import FOR_YOU, STARRED, Place
from app.ui.reranking import Reranking
from app.ui.river import RiverQuery
from app.ui.schedule import Scheduler
from app.ui.scroll import ScrollReader
from app.ui.sidebar import highlight, show_in
from app.ui.state import REFRESH, ViewState
from app.ui.story import StoryDesk
from app.ui.sweeper import Sweeper
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
    """Three panes: sidebar (views, folders, feeds), river (articles), reader (one article).

    What it shows and does, apart from the widgets, is in :attr:`state` (a Qt-free
    :class:`~app.ui.state.ViewState`); its helpers (the desks, the scheduler, the admin) each
    see it through a protocol of the few parts they use, and never import this module.
    """

    def __init__(
        self,
        profile: Profile,
        *,
        options: WindowOptions | None = None,
        ranker: Ranking | None = None,
    ) -> None:
        super().__init__()
        lifeline.foreground()  # the GUI thread takes a CPU soon after it wakes (issue 19)
        self.profile = profile
        self.db = profile.db
        self.options = options or WindowOptions()
        self.prefs = preference.load(self.db)
        self.state: ViewState[Place] = ViewState(FOR_YOU)
        self._owns_ranker = ranker is None
        self.ranker: Ranking = ranker or wiring.model_proxy(profile, self.prefs)
        self.runner = JobRunner(self, database=self.db.path)
        self.scheduler = Scheduler(self)
        self.admin = FeedAdmin(self)
        self.settings = QSettings(
            str(profile.paths.root / "window.ini"), QSettings.Format.IniFormat, self
        )
        self.activity: deque[tuple[datetime, int | None, str]] = deque(maxlen=LOG_LINES)
        self.feedback_dialog: FeedbackDialog | None = None
        self.welcome: WelcomeDialog | None = None
        self._started = False

        self.setWindowTitle("Heedful")
        self.setWindowIcon(resource.icon("heedful"))
        self._build_panes()
        self.desk = ArticleDesk(self)
        self.explanation.feedback_asked.connect(self.desk.feedback_on_explained)
        self._build_actions()
        self._build_status()
        self.state.observe(self._on_state_changed)
        self.folders = FolderDesk(self)  # the folder rows' menu and the sidebar's drag and drop
        self.fulltext = FullTextDesk(self)  # adds its actions to the menus built above
        self.stories = StoryDesk(self)  # "Unfold story" and "Fold story again"
        self.catchup = CatchUp(self)
        self.tray = TrayIcon(
            self, self.db, self.runner, refresh=self.act_refresh, quit=self.act_quit
        )
        self.notifier = Notifier(self)
        self.activity_dock = ActivityDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.activity_dock)
        access.name_widgets(self)
        self.impressions = ImpressionTracker(
            self.river_view, self.river, self.db, self.runner, parent=self
        )
        self.scroll_reader = ScrollReader(self)  # "mark as read on scroll past", when chosen
        self.reranking = Reranking(self)  # For you re-ranks below the reader after a click
        # full garbage-collection passes wait until the reader leaves the window alone
        self.sweeper = Sweeper(self, lambda: bool(self.runner.pending() or self.state.busy))
        for touched in (
            self.river_view.verticalScrollBar().valueChanged,
            self.river_view.selectionModel().currentChanged,
            self.sidebar_view.selectionModel().currentChanged,
            self.reader.verticalScrollBar().valueChanged,
            self.search.textEdited,
        ):
            touched.connect(self.sweeper.touch)
        self.runner.problem.connect(self._on_runner_problem)
        self.runner.crashed.connect(self._on_runner_crashed)
        self.sidebar_timer = QTimer(self)
        self.sidebar_timer.setSingleShot(True)
        self.sidebar_timer.setInterval(150)
        self.sidebar_timer.timeout.connect(self._on_sidebar_timer_timeout)
        self.scheduler.apply_timers()
        pane.restore_layout(self, self.panes, self.settings)
        self.reload_sidebar()
        self.show_place(FOR_YOU)

    @property
    def place(self) -> Place:
        """What the river shows (kept in :attr:`state`)."""
        return self.state.place

    @place.setter
    def place(self, place: Place) -> None:
        self.state.place = place

    # -- construction ----------------------------------------------------------------------

    def _build_panes(self) -> None:
        self.panes = panes = pane.build(self, self.ranker, self.runner, self.prefs, self.db)
        self.sidebar, self.sidebar_view = panes.sidebar, panes.sidebar_view
        self.river, self.river_view = panes.river, panes.river_view
        self.search, self.notice = panes.search, panes.notice
        self.reader, self.reader_bar = panes.reader, panes.reader_bar
        self.explanation, self.right, self.splitter = panes.explanation, panes.right, panes.splitter
        self.sidebar_view.customContextMenuRequested.connect(
            self._on_sidebar_view_custom_context_menu_requested
        )
        self.sidebar_view.selectionModel().selectionChanged.connect(
            self._on_sidebar_selection_changed
        )
        self.river.loaded.connect(self._on_river_loaded)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(350)
        self.search_timer.timeout.connect(self._on_search_return_pressed)
        self.setCentralWidget(self.splitter)
        self.resize(1280, 800)

    def _build_actions(self) -> None:
        def a(
            text: str,
            slot: Callable[[], object],
            key: menu.Shortcut = None,
            icon: str | None = None,
        ) -> QAction:
            return menu.action(self, text, slot, key, icon)

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
        self.act_refresh: QAction = a("Refresh", self.scheduler.refresh_all, "R", "refresh")
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
        self.act_quit: QAction = a("Quit", self.close, QKeySequence.StandardKey.Quit)
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

        self.river_menu, self.sidebar_menu = menu.lay_out(self, self.reader_bar)
        self.river_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.river_view.customContextMenuRequested.connect(
            self._on_river_view_custom_context_menu_requested
        )
        self.desk.update_actions()

    def _build_status(self) -> None:
        self.progress_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.statusBar().addPermanentWidget(self.progress_label)
        self.statusBar().addPermanentWidget(self.progress_bar)

    # -- life cycle ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._started:
            self._started = True
            QTimer.singleShot(300, self._on_first_paint)

    @Slot()
    def _on_first_paint(self) -> None:
        if self.state.closed:
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
            # the welcome subscribes to nothing until the reader chooses
            self.welcome = show_welcome(self, self.admin)
            self.reload_sidebar()
        if self.options.auto_refresh:
            self.scheduler.refresh(due_only=True)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Record the open article, stop timers and background work, save the layout."""
        if self.state.closed:
            return
        self.state.close()
        self.desk.leave()
        self.impressions.stop()
        self.sweeper.stop()
        self.search_timer.stop()
        self.sidebar_timer.stop()
        self.scheduler.shutdown()
        if self._owns_ranker:
            self.ranker.close()  # ends the model's helper processes; calls in flight fail fast
        self.runner.shutdown()
        pane.save_layout(self, self.panes, self.settings)

    # -- status ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A message in the status bar (through :attr:`state`)."""
        self.state.say(text)

    def _on_state_changed(self, name: str) -> None:
        state = self.state
        if name == "status":
            self.statusBar().showMessage(state.status, STATUS_MS)
        elif name == "busy":
            self.act_refresh.setEnabled(not state.is_busy(REFRESH))
        elif name == "progress":
            self.progress_label.setText(state.progress_text)
            if state.progress_bar is None:
                self.progress_bar.hide()
            else:
                done, total = state.progress_bar
                self.progress_bar.setRange(0, total)
                self.progress_bar.setValue(done)
                self.progress_bar.show()

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
        if not self.state.closed:
            self.sidebar_timer.start()

    @Slot()
    def _on_sidebar_timer_timeout(self) -> None:
        self.runner.submit("loading feeds", task.overview, self.db, done=self._on_overview_loaded)

    @Slot(object)
    def _on_overview_loaded(self, overview: task.Overview) -> None:
        self.tray.set_unread(overview.stats.unread)
        selection = self.sidebar_view.selectionModel()
        selection.blockSignals(True)
        try:
            show_in(self.sidebar_view, self.sidebar, overview.layout, overview.feeds)
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
        shown = self.folders.menu if place.kind == "folder" else self.sidebar_menu
        shown.popup(self.sidebar_view.viewport().mapToGlobal(pos))

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
        search = self.state.search or None
        place = self.place
        starred = place == STARRED
        view = RiverFilter(
            include_read=self.state.show_read or starred,  # starred: read ones too
            feed_id=place.feed_id,
            folder=place.folder,
            starred_only=starred,
            search=search,
        )
        return RiverQuery(ranked=place == FOR_YOU, view=view)

    @Slot()
    def _on_show_read_toggled(self) -> None:
        self.state.show_read = self.act_show_read.isChecked()
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
            if self.state.search:
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
        self.state.search = text
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
