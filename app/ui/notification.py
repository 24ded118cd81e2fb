"""A desktop notification when a refresh brings articles that "For you" ranks in its top 5.

Off unless the reader turns it on (``notify_top``), and silent while For you has no trained
model: a "top 5" by date alone would be every refresh's newest articles. After each refresh
that stored something new, the first page of For you is asked for on the job pool, through the
same ranker the river uses (in the model's helper process), so the window never waits for it;
at most one notification follows, through the tray icon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from app.services.preference import Preferences
from app.services.ranking import Ranking
from app.services.refresh import RefreshSummary
from app.services.river import UNREAD
from app.ui.schedule import Scheduler
from app.ui.tray import TrayIcon
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)

TOP = 5
"""How far down For you a new article may be and still be told."""

MESSAGE_MS = 10_000


@dataclass(frozen=True)
class TopNew:
    """The new articles among For you's first :data:`TOP`, best first, by title."""

    titles: tuple[str, ...]


def top_new(ranker: Ranking, since: datetime) -> TopNew | None:
    """The unread articles fetched at or after ``since`` that the model ranks in For you's top
    :data:`TOP` (muted ones never count); None while For you is not ranked by a model. Runs on
    a pool thread."""
    river = ranker.river(ranked=True, limit=TOP, view=UNREAD)
    if river.mode != "ranked":
        return None
    titles = tuple(
        item.article.title
        for item in river.items[:TOP]
        if not item.muted and item.article.fetched >= since
    )
    return TopNew(titles)


def message(found: TopNew) -> tuple[str, str]:
    """The notification's title and text: how many, and the best one's title."""
    count = len(found.titles)
    head = "A new article is" if count == 1 else f"{count} new articles are"
    return f"{head} in your top {TOP}", found.titles[0]


class Host(Protocol):
    """What the notifier uses of the window: its refreshes, its ranker and its tray."""

    runner: JobRunner
    ranker: Ranking
    prefs: Preferences
    scheduler: Scheduler
    tray: TrayIcon

    def window(self) -> QWidget: ...


class Notifier(QObject):
    """Tells the reader, through the tray, of new articles high in For you after a refresh."""

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.asking = False
        """A question for the top articles is on the pool (one per refresh at most)."""
        window.scheduler.refreshed.connect(self._on_scheduler_refreshed)

    @Slot(object)
    def _on_scheduler_refreshed(self, summary: RefreshSummary) -> None:
        since = self.w.scheduler.refresh_started
        if not self.w.prefs.notify_top or not summary.new or since is None or self.asking:
            return
        self.asking = True
        self.w.runner.submit(
            "ranking new articles",
            top_new,
            self.w.ranker,
            since,
            done=self._on_top_new,
            failed=self._on_top_new_failed,
        )

    @Slot(object)
    def _on_top_new(self, found: TopNew | None) -> None:
        self.asking = False
        if found is None:
            log.info("no notification: For you is not ranked by a model yet")
            return
        if found.titles and self.w.prefs.notify_top:
            self.notify(found)

    @Slot(object)
    def _on_top_new_failed(self, failure: JobFailure) -> None:
        self.asking = False
        if failure.known:  # a notification is a nicety: the river tells of ranking problems
            log.warning("no notification: %s", failure.message())
        else:
            report(self.w.runner, failure)

    def notify(self, found: TopNew) -> None:
        title, text = message(found)
        self.w.tray.icon.showMessage(
            title, text, QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS
        )
