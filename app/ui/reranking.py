"""A click felt at once: after an open or a "more / less like this", For you re-ranks the rows
below the one being read, without waiting for a training round.

The model's helper recomputes the reader vector with the new history and rescores the pool
from what it has cached (:meth:`app.services.scorer.Scorer._score_table`); this desk asks for
the view's first page ranked anew and lays it in below the reader's place.

What stays and what moves, and why: the reader is reading one row and has passed over the rows
above it. Moving either would pull the article out from under them or shuffle what they have
already judged (and the rows they passed over are the negatives training takes from the screen,
so they must stay what they were). So the rows down to the selected one, or down to the top of
the viewport when the reader has scrolled past it, stay where they are, and only the rows below
re-rank: what the reader goes on to is ordered by what they just did, the scroll bar keeps its
place, and a "re-ranked" line in the status bar says why rows below changed. A view that is not
For you is left alone (its order is time; its scores show on the next visit).

The same path takes in the rest of a large pool of new articles (a fresh model's first For
you at 100,000 articles): the model host ranks the newest first and says how many it has not
ranked yet (:attr:`River.unranked`), so For you shows in a few seconds; this desk then asks for
For you again, one slice more each time, and lays each answer in below the rows on screen (the
visible rows stay, not only those above them: the reader is looking at them), with a status
line saying that older articles are still being ranked, until none is left. Every article's
score is then the one a single ranking of the pool gives; the rows that stayed show it too.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from PySide6.QtCore import QModelIndex, QObject, Signal, Slot
from PySide6.QtWidgets import QLabel, QListView, QStatusBar, QWidget

from app.services.highlight import TitleShares
from app.services.ranking import Ranking, River
from app.ui.article import ArticleDesk
from app.ui.river import (
    PAGE_SIZE,
    RiverModel,
    RiverPage,
    RiverQuery,
    Role,
    Stories,
    load_page,
    word_shares,
)
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)

JUDGEMENTS = frozenset({"more", "less"})
"""The feedback kinds that change the reader's history (the others pin biases at a round)."""


def _page_and_scores(
    ranker: Ranking,
    query: RiverQuery,
    generation: int,
    limit: int,
    stories: Stories | None,
    staying: list[int],
) -> tuple[RiverPage, dict[int, float]]:
    """For you's first page ranked anew (the order first, shares asked for after) and the new
    scores of the rows that stay, the one being read among them; runs on a pool thread."""
    page = load_page(ranker, query, generation, None, limit, stories, highlights=False)
    return page, ranker.scores(staying)


class Host(Protocol):
    """What re-ranking uses of the window."""

    ranker: Ranking
    runner: JobRunner
    river: RiverModel
    river_view: QListView
    desk: ArticleDesk

    def window(self) -> QWidget: ...
    def say(self, text: str) -> None: ...
    def selected_index(self) -> QModelIndex: ...
    def statusBar(self) -> QStatusBar: ...  # noqa: N802


class Reranking(QObject):
    """Re-ranks For you below the reader's place after each recorded open or judgement.

    ``reranked(int)`` is emitted once the rows below are laid in, with how many changed (0:
    the order held); bursts of clicks while one re-ranking runs are taken in by one more.
    ``unranked`` is how many of For you's articles wait to be ranked (0 once all are).
    """

    reranked = Signal(int)

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.running = False
        self.unranked = 0
        self.ranking_older = QLabel()
        """The status line's word that For you is still ranking older articles (hidden else)."""
        self.ranking_older.hide()
        window.statusBar().addPermanentWidget(self.ranking_older)
        self._again = False
        self._older = False  # the re-ranking in flight takes in older articles, not a click
        self._asked = 0.0
        window.desk.clicked_recorded.connect(self._on_desk_clicked_recorded)
        window.desk.feedback_given.connect(self._on_desk_feedback_given)
        window.river.loaded.connect(self._on_river_loaded)

    @Slot(int)
    def _on_desk_clicked_recorded(self, article_id: int) -> None:
        self.rerank()

    @Slot(str)
    def _on_desk_feedback_given(self, kind: str) -> None:
        if kind in JUDGEMENTS:
            self.rerank()

    @Slot(object)
    def _on_river_loaded(self, river: River) -> None:
        """A page of For you that leaves articles unranked: say so, ask for the next slice.
        In another view the ranking waits (the next visit of For you goes on with it)."""
        if not self.w.river.query.ranked or river.mode != "ranked" or not river.unranked:
            self.ranking_older.hide()
            return
        self.unranked = river.unranked
        self.ranking_older.setText(
            f"For you is still ranking older articles ({river.unranked:,} to go)…"
        )
        self.ranking_older.show()
        if not self.running:
            self.rerank(older=True)

    def rerank(self, *, older: bool = False) -> None:
        """Ask for For you's new order (now, or after the re-ranking under way); ``older``:
        to take in articles not ranked yet, keeping every row on screen where it is."""
        river = self.w.river
        if not river.query.ranked:
            return
        if self.running:
            self._again = self._again or not older
            return
        self.running = True
        self._again = False
        self._older = older
        self._asked = time.perf_counter()
        staying = self.anchor(visible=older) + 1
        self.w.runner.submit(
            "re-ranking For you",
            _page_and_scores,
            self.w.ranker,
            river.query,
            river.generation,
            max(PAGE_SIZE, river.rowCount()),
            river.stories,
            [river.index(r).data(Role.ARTICLE_ID) for r in range(min(staying, river.rowCount()))],
            done=self._on_page_loaded,
            failed=self._on_page_failed,
        )

    def anchor(self, *, visible: bool = False) -> int:
        """The last row that stays: the selected one, or the last above the viewport when the
        reader has scrolled below it (-1: none, every row may move); with ``visible``, at
        least the last row on screen (every row when they do not fill it)."""
        selected = self.w.selected_index()
        row = selected.row() if selected.isValid() else -1
        view = self.w.river_view
        rect = view.viewport().rect()
        top = view.indexAt(rect.topLeft())
        row = max(row, top.row() - 1 if top.isValid() else -1)
        if visible:
            bottom = view.indexAt(rect.bottomLeft())
            row = max(row, bottom.row() if bottom.isValid() else self.w.river.rowCount() - 1)
        return row

    @Slot(object)
    def _on_page_loaded(self, loaded: tuple[RiverPage, dict[int, float]]) -> None:
        self.running = False
        older = self._older
        page, scores = loaded
        bar = self.w.river_view.verticalScrollBar()
        scrolled = bar.value()
        waiting = self.unranked
        if not page.river.unranked:
            self.unranked = 0
        changed = self.w.river.rerank_below(page, self.anchor(visible=older), scores)
        bar.setValue(scrolled)
        if changed >= 0:
            log.debug(
                "For you re-ranked below the reader in %.0f ms (%d rows changed, %d unranked)",
                (time.perf_counter() - self._asked) * 1000,
                changed,
                page.river.unranked,
            )
            if waiting and not page.river.unranked:
                self.w.say("For you has ranked every unread article.")
            elif changed and not older:
                self.w.say("For you re-ranked the articles below from what you just did.")
            self.reranked.emit(changed)
            if not page.river.unranked:  # a slice's new rows get theirs with the last one
                self._highlight(page)
        if self._again:
            self.rerank()

    def _highlight(self, page: RiverPage) -> None:
        """Ask for the word shares of the page's rows (the new reader vector moved them)."""
        river = self.w.river
        ids = [i.article.id for i in page.river.items if river.row_of(i.article.id) is not None]
        if ids:
            self.w.runner.submit(
                "highlighting For you",
                word_shares,
                self.w.ranker,
                river.generation,
                ids,
                done=self._on_shares_loaded,
            )

    @Slot(object)
    def _on_shares_loaded(self, loaded: tuple[int, dict[int, TitleShares]]) -> None:
        self.w.river.set_shares(*loaded)

    @Slot(object)
    def _on_page_failed(self, failure: JobFailure) -> None:
        self.running = False
        report(self.w.runner, failure)
        if self._again:
            self.rerank()
