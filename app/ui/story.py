"""One story once, undone on request: "Unfold story" (Article menu, the river's menu, key U)
shows the copies folded into the open article's story as their own rows again, never
deleting one, and "Fold story again" puts the last unfolded story back as it was."""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from app.services import story
from app.services.story import Unfolded
from app.storage.database import Database
from app.storage.record import ArticleRecord
from app.ui import menu
from app.ui.reader import ReaderView
from app.ui.river import RiverModel
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)


def refold(db: Database, unfolded: Unfolded) -> tuple[str, ...]:
    """Fold the story back (a job for the pool); returns the feeds its article is also in."""
    story.refold(db, unfolded)
    return tuple(story.also_in(db, [unfolded.article_id]).get(unfolded.article_id, []))


class Host(Protocol):
    """What the story desk uses of the window: the open article, the river, the menus."""

    db: Database
    runner: JobRunner
    river: RiverModel
    reader: ReaderView
    river_menu: QMenu

    def window(self) -> QWidget: ...
    def menuBar(self) -> QMenuBar: ...  # noqa: N802
    def say(self, text: str) -> None: ...


class StoryDesk(QObject):
    """Unfolds the open article's story, and folds the last one back."""

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.last: Unfolded | None = None
        """The last story unfolded, which "Fold story again" puts back."""
        parent = window.window()
        self.act_unfold = menu.action(parent, "Unfold story", self.unfold_current, "U")
        self.act_unfold.setEnabled(False)
        self.act_refold = menu.action(parent, "Fold story again", self.refold_last)
        self.act_refold.setEnabled(False)
        article_menu = menu.find_menu(window.menuBar(), "Article")
        if article_menu is not None:
            article_menu.addAction(self.act_unfold)
            article_menu.addAction(self.act_refold)
        window.river_menu.addAction(self.act_unfold)
        window.reader.article_shown.connect(self._on_reader_article_shown)

    @Slot(object)
    def _on_reader_article_shown(self, article: ArticleRecord) -> None:
        self.act_unfold.setEnabled(True)

    @Slot()
    def unfold_current(self) -> None:
        """Unfold the story of the article open in the reader."""
        article = self.w.reader.article
        if article is None:
            self.w.say("Open an article first.")
            return
        self.w.runner.submit(
            "unfolding the story",
            story.unfold,
            self.w.db,
            article.id,
            done=self._on_unfolded,
            failed=self._on_failed,
        )

    @Slot(object)
    def _on_unfolded(self, done: Unfolded) -> None:
        self.last = done
        self.act_refold.setEnabled(True)
        for article_id in done.article_ids:
            self.w.reader.show_also_in(article_id, ())
        self.w.river.reload()
        self.w.say(
            f"Unfolded: {len(done.article_ids)} articles show apart again "
            "(Article → Fold story again puts them back)."
        )

    @Slot()
    def refold_last(self) -> None:
        """Fold the last unfolded story back as it was."""
        if self.last is None:
            self.w.say("No story to fold again.")
            return
        self.w.runner.submit(
            "folding the story again",
            refold,
            self.w.db,
            self.last,
            done=self._on_refolded,
            failed=self._on_failed,
        )

    @Slot(object)
    def _on_refolded(self, also_in: tuple[str, ...]) -> None:
        last, self.last = self.last, None
        self.act_refold.setEnabled(False)
        if last is not None:
            self.w.reader.show_also_in(last.article_id, also_in)
        self.w.river.reload()
        self.w.say("The story is folded again.")

    @Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        report(self.w.runner, failure)
