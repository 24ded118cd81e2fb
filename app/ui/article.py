"""What the reader does with articles: open one (read, timed for a click), move through the
river, open in the browser, mark read, star, load images and ask "Why this?"."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QModelIndex, QObject, QUrl, Slot
from PySide6.QtWidgets import QMessageBox

from app.services import image
from app.services.ranking import ArticleExplanation
from app.storage.record import ArticleRecord
from app.ui import task
from app.ui.reader import open_external
from app.ui.river import Role
from app.ui.worker import JobFailure, report

if TYPE_CHECKING:
    from app.ui.window import MainWindow

log = logging.getLogger(__name__)

CLICK_DWELL_S = 4.0
"""Seconds an article must stay open in the reader to count as a click."""


@dataclass
class Reading:
    """The article open in the reader and since when."""

    article: ArticleRecord
    opened: float
    shown_above: tuple[int, ...]


class ArticleDesk(QObject):
    """Acts on the selected article for a :class:`MainWindow`; owns the open-article timer
    that turns a long enough read into a click."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.reading: Reading | None = None
        self.clicked: set[int] = set()
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
        self.reading = Reading(article, time.monotonic(), tuple(self.w.river.ids_above(row)))
        if not article.read:
            self.w.river.update_article(article.id, read=True)
            self.w.runner.submit(
                "marking read", task.set_read, self.w.db, [article.id], True, done=self._on_marked
            )
        if self.w.prefs.remote_images and self.w.reader.pending_images():
            self.load_images()
        self.update_actions()

    def leave(self) -> None:
        """The reader moves on: an article read long enough counts as a click."""
        reading, self.reading = self.reading, None
        if reading is None:
            return
        dwell = time.monotonic() - reading.opened
        if dwell >= CLICK_DWELL_S:
            self.record_click(reading.article.id, dwell, reading.shown_above)

    def record_click(
        self, article_id: int, dwell: float | None, shown_above: tuple[int, ...]
    ) -> None:
        """Log a click once per session per article."""
        if article_id in self.clicked:
            return
        self.clicked.add(article_id)
        self.w.runner.submit(
            "recording a click",
            task.click,
            self.w.db,
            article_id,
            self.w.session,
            dwell,
            list(shown_above),
            done=self._on_clicked,
        )

    @Slot(object)
    def _on_clicked(self, clicked: task.Clicked) -> None:
        log.debug("click %d on article %d", clicked.click_id, clicked.article_id)

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
        for action in (self.w.act_open, self.w.act_read, self.w.act_star, self.w.act_why):
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
        open_external(QUrl(article.url))
        shown = self.reading.shown_above if self.reading is not None else ()
        self.record_click(article.id, None, shown)

    @Slot(QUrl)
    def _on_reader_link_opened(self, url: QUrl) -> None:
        if not open_external(url):
            self.w.say(f"Not opening a {url.scheme()}: link.")
            return
        article = self.w.reader.article
        if article is not None and article.url and QUrl(article.url) == url:
            shown = self.reading.shown_above if self.reading is not None else ()
            self.record_click(article.id, None, shown)

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
                self.w, "Mark all as read", "Mark every unread article as read?"
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
        self.w.explanation.show_message("Working out why…")
        self.w.runner.submit(
            "explaining",
            task.explain,
            self.w.ranker,
            article.id,
            done=self._on_explained,
            failed=self._on_explain_failed,
        )

    @Slot(object)
    def _on_explained(self, explanation: ArticleExplanation) -> None:
        if self.w.reader.article is not None and self.w.reader.article.id == explanation.article_id:
            self.w.explanation.show_explanation(explanation)

    @Slot(object)
    def _on_explain_failed(self, failure: JobFailure) -> None:
        if failure.known:
            self.w.explanation.show_message(str(failure.error))
        else:
            self.w.explanation.hide()
            report(self.w.runner, failure)
