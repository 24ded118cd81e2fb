"""What the reader does with articles: open one (read, timed for a click), move through the
river, open in the browser, mark read, star, load images, say "more / less like this" and ask
"Why this?" (whose links give feedback on the article it explains).

What counts as an **open** (the click For you learns from): opening the article in the
browser, or reading it in the pane for :data:`CLICK_DWELL_S` seconds while the window is
active. Selecting a row only previews it: moving across rows with the keyboard, asking
"Why this?", or selecting to star it or to say "less like this" never counts, so inspecting a
buried article does not teach the model that the reader likes it. The window's help says so,
and the status bar says when a read has counted.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QItemSelection, QModelIndex, QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QListView, QMessageBox, QWidget

from app.services import feedback, image
from app.services.preference import Preferences
from app.services.ranking import ArticleExplanation, Ranking
from app.storage.database import Database
from app.storage.record import ArticleRecord
from app.ui import task
from app.ui.explanation import ExplanationPanel
from app.ui.impression import ImpressionTracker
from app.ui.outline import Place
from app.ui.reader import ReaderView, open_external
from app.ui.river import RiverModel, Role
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)

CLICK_DWELL_S = 4.0
"""Seconds of reading in the pane, with the window active, that make a selected article an
open (read when each tick runs, so a benchmark may shorten it)."""

DWELL_TICK_MS = 250

clock: Callable[[], float] = time.monotonic
"""The desk's clock (module-level so that a benchmark may drive time)."""


@dataclass
class Reading:
    """The article in the reader: where it was selected (``screen``, ``row``, the rows above it
    and those on screen), how long it has been read with the window active, and whether the
    visit was an inspection (Why this?, star, less like this), which never counts as an open."""

    article: ArticleRecord
    screen: str
    row: int
    shown_above: tuple[int, ...]
    visible: tuple[tuple[int, int], ...]
    last_tick: float
    read_s: float = 0.0
    inspected: bool = False
    counted: bool = False


class Host(Protocol):
    """What the desk uses of the window: its river, reader and explanation panel, the
    actions it enables, and the background."""

    db: Database
    runner: JobRunner
    ranker: Ranking
    prefs: Preferences
    river: RiverModel
    river_view: QListView
    reader: ReaderView
    explanation: ExplanationPanel
    impressions: ImpressionTracker
    act_open: QAction
    act_read: QAction
    act_star: QAction
    act_why: QAction
    act_more: QAction
    act_less: QAction
    act_fewer: QAction
    act_images: QAction

    @property
    def place(self) -> Place: ...
    def window(self) -> QWidget: ...
    def say(self, text: str) -> None: ...
    def reload_sidebar(self) -> None: ...
    def selected_index(self) -> QModelIndex: ...


class ArticleDesk(QObject):
    """Acts on the selected article for the window (its :class:`Host`); owns the reading timer
    that turns a long enough read into a click."""

    clicked_recorded = Signal(int)
    """An open was recorded (article id), for the training schedule."""

    feedback_given = Signal(str)
    """The reader gave explicit feedback (its kind), for the training schedule."""

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.reading: Reading | None = None
        self.clicked: set[int] = set()
        self.explained: ArticleRecord | None = None
        """The article "Why this?" was last asked about (its feed is what the panel's feed
        links speak of, whatever is selected by the time they are clicked)."""
        self._hearing: ArticleExplanation | None = None
        self._dwell = QTimer(self)
        self._dwell.setInterval(DWELL_TICK_MS)
        self._dwell.timeout.connect(self._on_dwell_timeout)
        window.river_view.selectionModel().selectionChanged.connect(
            self._on_river_selection_changed
        )
        window.reader.link_opened.connect(self._on_reader_link_opened)

    @Slot(QItemSelection, QItemSelection)
    def _on_river_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        current = self.w.selected_index()
        if (
            self.reading is not None
            and current.isValid()
            and current.data(Role.ARTICLE_ID) == self.reading.article.id
        ):
            return
        self.leave()
        article = current.data(Role.ARTICLE) if current.isValid() else None
        if not isinstance(article, ArticleRecord):
            self.w.reader.show_placeholder()
            self.update_actions()
            return
        self.open_article(article, current.row())

    def open_article(self, article: ArticleRecord, row: int) -> None:
        """Show ``article`` in the reader, mark it read, and start timing the read."""
        self.w.reader.show_article(article)
        self.w.explanation.hide()
        tracker = self.w.impressions
        self.reading = Reading(
            article,
            tracker.session,
            row,
            tuple(self.w.river.ids_above(row)),
            tuple(tracker.visible()),
            clock(),
        )
        self._dwell.start()
        if not article.read:
            self.w.river.update_article(article.id, read=True)
            self.w.runner.submit(
                "marking read", task.set_read, self.w.db, [article.id], True, done=self._on_marked
            )
        if self.w.prefs.remote_images and self.w.reader.pending_images():
            self.load_images()
        self.update_actions()

    def leave(self) -> None:
        """The reader moves on from the article in the pane (its last moments count too)."""
        self._tick()
        self._dwell.stop()
        self.reading = None

    def inspect(self) -> None:
        """The visit is an inspection (Why this?, star, less like this): it will not count."""
        if self.reading is not None:
            self.reading.inspected = True

    def _window_active(self) -> bool:
        window = self.w.window()
        return window.isActiveWindow() and not window.isMinimized()

    @Slot()
    def _on_dwell_timeout(self) -> None:
        if self.reading is None:
            self._dwell.stop()
            return
        self._tick()

    def _tick(self) -> None:
        """Add the time read since the last tick; an open once it reaches the dwell."""
        reading = self.reading
        if reading is None:
            return
        now = clock()
        if self._window_active():
            reading.read_s += now - reading.last_tick
        reading.last_tick = now
        if reading.inspected or reading.counted or reading.read_s < CLICK_DWELL_S:
            return
        reading.counted = True
        self._dwell.stop()
        if self.record_click(reading.article.id, reading.read_s, reading):
            self.w.say("Counted as opened: For you learns from what you read.")

    def record_click(self, article_id: int, dwell: float | None, reading: Reading | None) -> bool:
        """Log an open once per window per article, with the screen it was selected on;
        False when it was already counted."""
        if article_id in self.clicked:
            return False
        self.clicked.add(article_id)
        tracker = self.w.impressions
        if reading is not None and reading.article.id == article_id:
            screen, row = reading.screen, reading.row
            above, visible = reading.shown_above, reading.visible
        else:
            screen = tracker.session
            found = self.w.river.row_of(article_id)
            row = found if found is not None else 0
            above, visible = tuple(self.w.river.ids_above(row)), tuple(tracker.visible())
        self.w.runner.submit(
            "recording a click",
            task.click,
            self.w.db,
            article_id,
            screen,
            dwell,
            list(above),
            row,
            list(visible),
            done=self._on_clicked,
        )
        return True

    @Slot(object)
    def _on_clicked(self, clicked: task.Clicked) -> None:
        log.debug("click %d on article %d", clicked.click_id, clicked.article_id)
        self.clicked_recorded.emit(clicked.article_id)

    def give_feedback(
        self, kind: str, *, word: str | None = None, article: ArticleRecord | None = None
    ) -> None:
        """Record "more / less like this" on ``article`` (by default the current one), "more /
        fewer from this feed" on its feed, or "don't rank on this word"."""
        article = article or self.w.reader.article or self.current_article()
        if kind != "word_off" and article is None:
            self.w.say("Select an article first.")
            return
        if kind == "less":
            self.inspect()
        subject = article.id if article is not None and kind in ("more", "less") else None
        feed = article.feed_id if article is not None and kind.startswith("feed_") else None
        give = functools.partial(
            feedback.give, self.w.db, kind, article_id=subject, feed_id=feed, word=word
        )
        self.w.runner.submit("noting your feedback", give, done=self._on_feedback_given)

    @Slot(object)
    def _on_feedback_given(self, given: feedback.Given) -> None:
        self.w.say(f"Noted: {given.text}. For you takes it in {feedback.taken_in(given.kind)}.")
        self.feedback_given.emit(given.kind)
        shown = self.w.explanation.explanation
        if self.w.explanation.isVisible() and shown is not None:
            self._hear(shown)  # "Why this?" says it back and drops the link just used

    @Slot(str, str)
    def feedback_on_explained(self, kind: str, word: str) -> None:
        """A link of "Why this?": feedback on the article it explains."""
        shown = self.w.explanation.explanation
        article = self.explained
        if shown is None or article is None or article.id != shown.article_id:
            log.debug("feedback link without its article: %s", kind)
            return
        self.inspect()
        self.give_feedback(kind, word=word or None, article=article)

    @Slot()
    def more_like_this(self) -> None:
        self.give_feedback("more")

    @Slot()
    def less_like_this(self) -> None:
        self.give_feedback("less")

    @Slot()
    def fewer_from_feed(self) -> None:
        self.give_feedback("feed_less")

    @Slot(object)
    def _on_marked(self, marked: task.Marked) -> None:
        self.w.reload_sidebar()

    def current_article(self) -> ArticleRecord | None:
        """The selected article as the river has it now."""
        index = self.w.selected_index()
        article = index.data(Role.ARTICLE) if index.isValid() else None
        return article if isinstance(article, ArticleRecord) else None

    def update_actions(self) -> None:
        has = self.w.reader.article is not None
        for action in (
            self.w.act_open,
            self.w.act_read,
            self.w.act_star,
            self.w.act_why,
            self.w.act_more,
            self.w.act_less,
            self.w.act_fewer,
        ):
            action.setEnabled(has)
        self.w.act_images.setEnabled(bool(self.w.reader.pending_images()))
        article = self.w.reader.article
        self.w.act_star.setText("Unstar" if article is not None and article.starred else "Star")

    def move(self, step: int) -> None:
        """Select the next (+1) or previous (-1) article."""
        count = self.w.river.rowCount()
        if count == 0:
            return
        current = self.w.selected_index()
        row = current.row() + step if current.isValid() else 0
        if row >= count and self.w.river.canFetchMore(QModelIndex()):
            self.w.river.fetchMore(QModelIndex())
        row = max(0, min(count - 1, row))
        index = self.w.river.index(row)
        self.w.river_view.setCurrentIndex(index)
        self.w.river_view.scrollTo(index)

    @Slot()
    def next_article(self) -> None:
        self.move(+1)

    @Slot()
    def previous_article(self) -> None:
        self.move(-1)

    @Slot()
    def scroll_or_next(self) -> None:
        bar = self.w.reader.verticalScrollBar()
        if self.w.reader.article is not None and bar.value() < bar.maximum():
            bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()))
        else:
            self.move(+1)

    @Slot()
    def open_in_browser(self) -> None:
        article = self.w.reader.article or self.current_article()
        if article is None or not article.url:
            self.w.say("This article has no web address.")
            return
        if not open_external(QUrl(article.url)):
            self.w.say("Could not open a web browser for this article.")
            return
        self.record_click(article.id, None, self.reading)

    @Slot(QUrl)
    def _on_reader_link_opened(self, url: QUrl) -> None:
        if not open_external(url):
            self.w.say(f"Could not open the {url.scheme()}: link.")
            return
        article = self.w.reader.article
        if article is not None and article.url and QUrl(article.url) == url:
            self.record_click(article.id, None, self.reading)

    @Slot()
    def toggle_read(self) -> None:
        article = self.current_article()
        if article is None:
            return
        read = not article.read
        self.w.river.update_article(article.id, read=read)
        self.w.runner.submit(
            "marking read", task.set_read, self.w.db, [article.id], read, done=self._on_marked
        )

    @Slot()
    def toggle_star(self) -> None:
        article = self.current_article()
        if article is None:
            return
        self.inspect()
        starred = not article.starred
        self.w.river.update_article(article.id, starred=starred)
        if self.w.reader.article is not None and self.w.reader.article.id == article.id:
            refreshed = self.current_article()
            if refreshed is not None:
                self.w.reader.article = refreshed
        self.w.runner.submit(
            "starring", task.set_starred, self.w.db, article.id, starred, done=self._on_marked
        )
        self.update_actions()

    @Slot()
    def mark_all_read(self, *, confirm: bool = True) -> None:
        """Mark every unread article in the current scope read."""
        feed_id, folder = self.w.place.feed_id, self.w.place.folder
        if confirm and feed_id is None and folder is None:
            answer = QMessageBox.question(
                self.w.window(), "Mark all as read", "Mark every unread article as read?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.w.river.mark_all_shown_read()
        self.w.runner.submit(
            "marking all read",
            task.mark_all_read,
            self.w.db,
            feed_id,
            folder,
            done=self._on_all_marked,
        )

    @Slot(object)
    def _on_all_marked(self, count: int) -> None:
        self.w.say(f"Marked {count} {'article' if count == 1 else 'articles'} as read.")
        self.w.reload_sidebar()

    @Slot()
    def load_images(self) -> None:
        """Fetch the open article's remote images in the background."""
        article = self.w.reader.article
        urls = self.w.reader.pending_images()
        if article is None or not urls:
            return
        self.w.say(f"Loading {len(urls)} {'image' if len(urls) == 1 else 'images'}…")
        self.w.runner.submit(
            "loading images", image.fetch_images, article.id, urls, done=self._on_images_loaded
        )

    @Slot(object)
    def _on_images_loaded(self, fetched: image.FetchedImages) -> None:
        if self.w.reader.article is None or self.w.reader.article.id != fetched.article_id:
            return
        shown = self.w.reader.add_images(fetched.images)
        failed = fetched.failed + len(fetched.images) - shown
        self.w.say(f"Loaded {shown} images" + (f"; {failed} failed." if failed else "."))
        self.update_actions()

    @Slot()
    def explain_current(self) -> None:
        """Open the Why this? panel for the article in the reader."""
        article = self.w.reader.article
        if article is None:
            self.w.say("Select an article first.")
            return
        self.inspect()
        self.explained = article
        self.w.explanation.show_message("Working out why…")
        self.w.runner.submit(
            "explaining",
            task.explain,
            self.w.ranker,
            article.id,
            done=self._on_explained,
            failed=self._on_explain_failed,
        )

    def _still_explained(self, explanation: ArticleExplanation) -> bool:
        reading = self.w.reader.article
        return reading is not None and reading.id == explanation.article_id

    @Slot(object)
    def _on_explained(self, explanation: ArticleExplanation) -> None:
        if self._still_explained(explanation):
            self._hear(explanation)

    def _hear(self, explanation: ArticleExplanation) -> None:
        """Look up what the reader said that bears on ``explanation``, then show it."""
        article = self.explained
        feed_id = article.feed_id if article is not None else None
        self._hearing = explanation
        self.w.runner.submit(
            "reading your feedback",
            feedback.bearing,
            self.w.db,
            explanation,
            feed_id,
            done=self._on_heard,
            failed=self._on_hearing_failed,
        )

    @Slot(object)
    def _on_heard(self, explanation: ArticleExplanation) -> None:
        if self._still_explained(explanation):
            self.w.explanation.show_explanation(explanation)

    @Slot(object)
    def _on_hearing_failed(self, failure: JobFailure) -> None:
        explanation = self._hearing
        if explanation is not None and self._still_explained(explanation):
            self.w.explanation.show_explanation(explanation)  # without the reader's word
        report(self.w.runner, failure)

    @Slot(object)
    def _on_explain_failed(self, failure: JobFailure) -> None:
        reader = failure.reader
        if reader is not None:
            self.w.explanation.show_message(reader)
        else:
            self.w.explanation.hide()
            report(self.w.runner, failure)
