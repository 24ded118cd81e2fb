"""A person's hands on the real main window, offscreen: pick a view in the sidebar, scroll the
river page by page, click a row and read it in the pane, open it in the browser, type a search.

Everything goes through the window's widgets (the sidebar tree, the river list and its scroll
bar, the search box, the window's actions) with mouse and key events, so the window logs what
it would log for a person: its own screens, impressions and clicks. Only the time constants
are shortened (:func:`quick_time`): a read counts after its dwell, an impression after a row
stays visible, and the benchmark would otherwise spend most of its time waiting.

The hand also keeps its own account of each visit of a view (which articles were visible,
which were opened), so that the baselines can be fitted on exactly what the reader saw.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPoint, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView

from app.storage.record import ArticleRecord
from app.ui.river import Role
from app.ui.window import MainWindow

log = logging.getLogger(__name__)

QUICK = {
    "app.ui.article": {"CLICK_DWELL_S": 0.05, "DWELL_TICK_MS": 10},
    "app.ui.impression": {"DWELL_S": 0.03, "TICK_MS": 10},
}
"""Module constants shortened for the benchmark: a read counts after 50 ms in the pane, an
impression after 30 ms on screen, checked every 10 ms. Names that a module no longer has are
skipped (and logged), so the hand survives a rewrite of those modules."""

READ_S = 0.09
"""How long the hand leaves an article open to read it (longer than the shortened dwell)."""
GLANCE_S = 0.0
"""How long a preview lasts: the next action follows at once."""
LINGER_S = 0.06
"""How long each screenful stays still (longer than the shortened impression dwell)."""


@contextmanager
def quick_time(overrides: dict[str, dict[str, float]] | None = None) -> Iterator[list[str]]:
    """Shorten the window's dwell constants while the block runs (before the window is built:
    a timer's interval is read when it starts); yields the names it set."""
    saved: list[tuple[Any, str, Any]] = []
    names: list[str] = []
    for module_name, values in (overrides or QUICK).items():
        module = importlib.import_module(module_name)
        for name, value in values.items():
            if not hasattr(module, name):
                log.warning("%s has no %s any more; its time is not shortened", module_name, name)
                continue
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, type(getattr(module, name))(value))
            names.append(f"{module_name}.{name}={value}")
    try:
        yield names
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


class Browser(QObject):
    """Catches the web addresses the window asks the system to open (nothing is launched)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@contextmanager
def caught_browser() -> Iterator[Browser]:
    """Route http and https links to a :class:`Browser` while the block runs."""
    browser = Browser()
    for scheme in ("http", "https"):
        QDesktopServices.setUrlHandler(scheme, browser, "open")  # type: ignore[arg-type]
    try:
        yield browser
    finally:
        for scheme in ("http", "https"):
            QDesktopServices.unsetUrlHandler(scheme)


@dataclass
class Visit:
    """One visit of a view, as the hand saw it: what was visible, what it opened."""

    view: str
    seen: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    previewed: list[int] = field(default_factory=list)


class Hand:
    """Drives one :class:`app.ui.window.MainWindow` the way a person would."""

    def __init__(self, window: MainWindow, *, timeout_s: float = 120.0) -> None:
        self.w = window
        self.timeout_s = timeout_s
        self.visits: list[Visit] = []
        self.opened: list[int] = []
        self._seen_now: set[int] = set()

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, seconds: float) -> None:
        """Let the event loop run for ``seconds``."""
        QTest.qWait(max(1, round(seconds * 1000)))

    def until(self, done: Callable[[], bool], timeout_s: float | None = None) -> bool:
        """Run the event loop until ``done()``; False on timeout."""
        end = time.monotonic() + (timeout_s or self.timeout_s)
        while not done():
            if time.monotonic() > end:
                return False
            QTest.qWait(10)
        return True

    def idle(self) -> None:
        """Wait until the river has loaded and the window's background jobs are done."""
        if not self.until(lambda: not self.w.river.loading and self.w.runner.pending() == 0):
            raise TimeoutError("the window stayed busy")

    def show(self) -> None:
        """Show the window and make it the active one."""
        self.w.show()
        self.w.activateWindow()
        QTest.qWaitForWindowActive(self.w, 5000)

    # -- the sidebar -----------------------------------------------------------------------

    def _sidebar_index(self, label: str) -> QModelIndex:
        model = self.w.sidebar
        todo = [model.index(r, 0) for r in range(model.rowCount())]
        while todo:
            index = todo.pop(0)
            if index.data(Qt.ItemDataRole.DisplayRole) == label:
                return index
            todo += [model.index(r, 0, index) for r in range(model.rowCount(index))]
        return QModelIndex()

    def labels(self) -> list[str]:
        """The names of the feeds listed in the sidebar."""
        return [f.title or f.url for f in self.w.sidebar.feeds.values()]

    def go(self, label: str) -> None:
        """Click ``label`` ("For you", "Latest" or a feed's title) in the sidebar and wait for
        the river to load."""
        if not self.until(lambda: self._sidebar_index(label).isValid(), 30):
            raise LookupError(f"the sidebar has no {label!r}")
        view = self.w.sidebar_view
        index = self._sidebar_index(label)
        view.scrollTo(index)
        QTest.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            view.visualRect(index).center(),
        )
        self._visit(label)
        self.idle()
        self.linger()

    def _visit(self, view: str) -> None:
        self.visits.append(Visit(view))
        self._seen_now = set()

    # -- the river -------------------------------------------------------------------------

    def article(self, row: int) -> ArticleRecord | None:
        article = self.w.river.index(row).data(Role.ARTICLE)
        return article if isinstance(article, ArticleRecord) else None

    def rows(self) -> list[ArticleRecord]:
        """The articles loaded in the river, top first."""
        found = (self.article(r) for r in range(self.w.river.rowCount()))
        return [a for a in found if a is not None]

    def visible(self) -> range:
        """The rows in the river's viewport now."""
        view = self.w.river_view
        if self.w.river.rowCount() == 0:
            return range(0)
        top = view.indexAt(QPoint(4, 1))
        if not top.isValid():
            return range(0)
        bottom = view.indexAt(QPoint(4, view.viewport().height() - 2))
        last = bottom.row() if bottom.isValid() else self.w.river.rowCount() - 1
        return range(top.row(), last + 1)

    def linger(self, seconds: float = LINGER_S) -> None:
        """Keep still over the current screenful, noting what is on it."""
        self.wait(seconds)
        visit = self.visits[-1] if self.visits else None
        for row in self.visible():
            article = self.article(row)
            if visit is not None and article is not None and article.id not in self._seen_now:
                self._seen_now.add(article.id)
                visit.seen.append(article.id)

    def scroll(self) -> bool:
        """Scroll down one page (the view asks for the next page at the end); False at the
        very bottom."""
        bar = self.w.river_view.verticalScrollBar()
        if bar.value() >= bar.maximum():
            if not self.w.river.canFetchMore(QModelIndex()):
                self.idle()
                if not self.w.river.canFetchMore(QModelIndex()) and bar.value() >= bar.maximum():
                    return False
            self.w.river.fetchMore(QModelIndex())
            self.idle()
            if bar.value() >= bar.maximum():
                return False
        bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()))
        self.idle()
        self.linger()
        return True

    def to_top(self) -> None:
        self.w.river_view.verticalScrollBar().setValue(0)
        self.linger()

    def scroll_to_bottom(self) -> int:
        """Scroll the whole view, page by page; returns how many rows it holds."""
        while self.scroll():
            pass
        return self.w.river.rowCount()

    def show_row(self, row: int) -> None:
        """Scroll until ``row`` is on screen, as a person scrolling down would."""
        while row not in self.visible():
            if row < self.visible().start or not self.scroll():
                index = self.w.river.index(row)
                self.w.river_view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
                self.linger()
                return

    def _click_row(self, row: int) -> ArticleRecord | None:
        self.show_row(row)
        article = self.article(row)
        view = self.w.river_view
        QTest.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            view.visualRect(self.w.river.index(row)).center(),
        )
        return article

    def read(self, row: int, seconds: float = READ_S) -> ArticleRecord | None:
        """Click a row and read it in the pane for ``seconds`` (an open once the window's
        dwell has passed)."""
        article = self._click_row(row)
        self.wait(seconds)
        if article is not None:
            self.opened.append(article.id)
            if self.visits:
                self.visits[-1].opened.append(article.id)
        return article

    def preview(self, row: int) -> ArticleRecord | None:
        """Click a row and move on at once: a glance, not an open. The row is let go of
        before anything else happens (a glance must stay shorter than the shortened dwell,
        which the next scroll alone could outlast)."""
        article = self._click_row(row)
        self.wait(GLANCE_S)
        self.w.river_view.selectionModel().clearSelection()
        if article is not None and self.visits:
            self.visits[-1].previewed.append(article.id)
        return article

    def open_in_browser(self, row: int) -> ArticleRecord | None:
        """Select a row and press "Open in browser"."""
        article = self._click_row(row)
        self.w.act_open.trigger()
        if article is not None:
            self.opened.append(article.id)
            if self.visits:
                self.visits[-1].opened.append(article.id)
        return article

    # -- search ----------------------------------------------------------------------------

    def search(self, word: str) -> None:
        """Type ``word`` into the search box and press Return."""
        box = self.w.search
        QTest.mouseClick(box, Qt.MouseButton.LeftButton)
        box.selectAll()
        QTest.keyClick(box, Qt.Key.Key_Backspace)
        QTest.keyClicks(box, word)
        QTest.keyClick(box, Qt.Key.Key_Return)
        self._visit(f"search:{word}")
        self.idle()
        self.linger()

    def clear_search(self) -> None:
        """Press Escape in the search box (it clears and the river goes back to the view)."""
        box = self.w.search
        QTest.mouseClick(box, Qt.MouseButton.LeftButton)
        QTest.keyClick(box, Qt.Key.Key_Escape)
        self.wait(0.45)  # the river follows the cleared box after a short typing pause
        self.idle()

    # -- training --------------------------------------------------------------------------

    def train(self, epochs: int | None = None, timeout_s: float = 1800.0) -> Any:
        """Press "Train now" (or ask the scheduler for ``epochs``) and wait for the round;
        returns its report, or the error message the window was given."""
        trainer = self.w.scheduler.trainer
        outcome: list[Any] = []
        catcher = _Catcher(outcome)
        trainer.finished.connect(catcher.finished)
        trainer.errored.connect(catcher.errored)
        try:
            if epochs is None:
                self.w.act_train.trigger()
            else:
                self.w.train(epochs=epochs)
            if not self.until(lambda: bool(outcome) and not trainer.running, timeout_s):
                raise TimeoutError("the training round did not end")
        finally:
            trainer.finished.disconnect(catcher.finished)
            trainer.errored.disconnect(catcher.errored)
        self.idle()
        return outcome[0]


class _Catcher(QObject):
    def __init__(self, outcome: list[Any]) -> None:
        super().__init__()
        self.outcome = outcome

    @Slot(object)
    def finished(self, report: object) -> None:
        self.outcome.append(report)

    @Slot(str, bool)
    def errored(self, message: str, known: bool) -> None:
        self.outcome.append(message)
