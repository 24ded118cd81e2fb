"""Full text in the window: "Fetch full article" (toolbar, key F), the stored full text and
the attachments shown with each article, and the per-feed "Always fetch full text" option."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar, QWidget

from app.services import attachment, fulltext, story
from app.services.attachment import Attachment
from app.storage.database import Database
from app.storage.record import ArticleRecord
from app.ui import menu
from app.ui.article import ArticleDesk
from app.ui.outline import Place
from app.ui.reader import ReaderView
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extras:
    """What the reader shows with an article once it is open: its stored full text (or
    None), its attachments, whether its feed wants the full text fetched on its own, and the
    other feeds whose copies of the story were folded into it."""

    article_id: int
    full_html: str | None
    attachments: tuple[Attachment, ...]
    always: bool
    also_in: tuple[str, ...] = ()


def extras(db: Database, article: ArticleRecord) -> Extras:
    """The job that runs when an article opens (a plain function for the job pool)."""
    stored = fulltext.stored(db, article.id)
    return Extras(
        article.id,
        None if stored is None else stored.html,
        tuple(attachment.attachments(db, article.id)),
        fulltext.feed_option(db, article.feed_id),
        tuple(story.also_in(db, [article.id]).get(article.id, [])),
    )


@dataclass(frozen=True)
class FeedOption:
    feed_id: int
    on: bool


def read_option(db: Database, feed_id: int) -> FeedOption:
    return FeedOption(feed_id, fulltext.feed_option(db, feed_id))


def write_option(db: Database, feed_id: int, on: bool) -> FeedOption:
    fulltext.set_feed_option(db, feed_id, on)
    return FeedOption(feed_id, on)


class Host(Protocol):
    """What the full-text desk uses of the window: its reader and the menus it joins."""

    db: Database
    runner: JobRunner
    reader: ReaderView
    reader_bar: QToolBar
    sidebar_menu: QMenu
    desk: ArticleDesk

    @property
    def place(self) -> Place: ...
    def window(self) -> QWidget: ...
    def menuBar(self) -> QMenuBar: ...  # noqa: N802
    def say(self, text: str) -> None: ...


class FullTextDesk(QObject):
    """Fetches and shows full text and attachments for the window's reader."""

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.fetching: set[int] = set()
        parent = window.window()
        self.act_fetch = menu.action(
            parent, "Fetch full article", self.fetch_current, "F", "browser"
        )
        self.act_fetch.setEnabled(False)
        self.act_always = menu.action(parent, "Always fetch full text", self._on_always_triggered)
        self.act_always.setCheckable(True)
        self.act_always.setEnabled(False)
        window.reader_bar.addAction(self.act_fetch)
        article_menu = menu.find_menu(window.menuBar(), "Article")
        if article_menu is not None:
            article_menu.addAction(self.act_fetch)
        feeds_menu = menu.find_menu(window.menuBar(), "Feeds")
        for shown in (feeds_menu, window.sidebar_menu):
            if shown is not None:
                shown.addAction(self.act_always)
                shown.aboutToShow.connect(self._on_menu_about_to_show)
        window.reader.article_shown.connect(self._on_reader_article_shown)

    # -- when an article opens ---------------------------------------------------------------

    @Slot(object)
    def _on_reader_article_shown(self, article: ArticleRecord) -> None:
        self.act_fetch.setEnabled(bool(article.url))
        self.w.runner.submit("reading full text", extras, self.w.db, article, done=self._on_extras)

    @Slot(object)
    def _on_extras(self, found: Extras) -> None:
        reader = self.w.reader
        if reader.article is None or reader.article.id != found.article_id:
            return
        if found.also_in:
            reader.show_also_in(found.article_id, found.also_in)
        if found.attachments:
            reader.show_enclosures(found.article_id, found.attachments)
        if found.full_html is not None:
            reader.show_full_text(found.article_id, found.full_html)
        elif found.always and reader.article.url:
            self._fetch(reader.article)
        self.w.desk.update_actions()

    # -- fetching --------------------------------------------------------------------------

    @Slot()
    def fetch_current(self) -> None:
        """Fetch the open article's page and show its main content."""
        article = self.w.reader.article
        if article is None:
            self.w.say("Select an article first.")
            return
        if not article.url:
            self.w.say("This article has no web address to fetch.")
            return
        self._fetch(article)

    def _fetch(self, article: ArticleRecord) -> None:
        if article.id in self.fetching:
            return
        self.fetching.add(article.id)
        self.w.say("Fetching the full article…")
        self.w.runner.submit(
            "fetching full text",
            fulltext.fetch,
            self.w.db,
            article.id,
            done=self._on_fetched,
            failed=self._on_fetch_failed,
        )

    @Slot(object)
    def _on_fetched(self, found: fulltext.FullText) -> None:
        self.fetching.discard(found.article_id)
        if self.w.reader.show_full_text(found.article_id, found.html):
            self.w.say("Showing the full article; it stays available offline.")
            self.w.desk.update_actions()
        else:
            self.w.say("The full article was saved; it shows when you open it.")

    @Slot(object)
    def _on_fetch_failed(self, failure: JobFailure) -> None:
        self.fetching.clear()
        reader = failure.reader
        if reader is not None:
            self.w.say(f"Could not fetch the full article: {reader}")
        else:
            report(self.w.runner, failure)

    # -- the per-feed option -----------------------------------------------------------------

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        feed_id = self.w.place.feed_id
        self.act_always.setEnabled(feed_id is not None)
        if feed_id is not None:
            self.w.runner.submit(
                "reading a feed option", read_option, self.w.db, feed_id, done=self._on_option
            )

    @Slot()
    def _on_always_triggered(self) -> None:
        feed_id = self.w.place.feed_id
        if feed_id is None:
            self.w.say("Select a feed first.")
            return
        on = self.act_always.isChecked()
        self.w.runner.submit(
            "saving a feed option", write_option, self.w.db, feed_id, on, done=self._on_option_saved
        )

    @Slot(object)
    def _on_option(self, option: FeedOption) -> None:
        if option.feed_id == self.w.place.feed_id:
            self.act_always.setChecked(option.on)

    @Slot(object)
    def _on_option_saved(self, option: FeedOption) -> None:
        self._on_option(option)
        state = "fetches" if option.on else "no longer fetches"
        self.w.say(f"This feed {state} the full text of its articles when they are opened.")
