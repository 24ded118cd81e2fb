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
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from PySide6.QtCore import QModelIndex, QObject, Signal, Slot
from PySide6.QtWidgets import QListView, QWidget

from app.services.ranking import Ranking
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


class Reranking(QObject):
    """Re-ranks For you below the reader's place after each recorded open or judgement.

    ``reranked(int)`` is emitted once the rows below are laid in, with how many changed (0:
    the order held); bursts of clicks while one re-ranking runs are taken in by one more.
    """

    reranked = Signal(int)

    def __init__(self, window: Host) -> None:
        super().__init__(window.window())
        self.w = window
        self.running = False
        self._again = False
        self._asked = 0.0
        window.desk.clicked_recorded.connect(self._on_desk_clicked_recorded)
        window.desk.feedback_given.connect(self._on_desk_feedback_given)

    @Slot(int)
    def _on_desk_clicked_recorded(self, article_id: int) -> None:
        self.rerank()

    @Slot(str)
    def _on_desk_feedback_given(self, kind: str) -> None:
        if kind in JUDGEMENTS:
            self.rerank()

    def rerank(self) -> None:
        """Ask for For you's new order (now, or after the re-ranking under way)."""
        river = self.w.river
        if not river.query.ranked:
            return
        if self.running:
            self._again = True
            return
        self.running = True
        self._again = False
        self._asked = time.perf_counter()
        staying = self.anchor() + 1
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

    def anchor(self) -> int:
        """The last row that stays: the selected one, or the last above the viewport when the
        reader has scrolled below it (-1: none, every row may move)."""
        selected = self.w.selected_index()
        row = selected.row() if selected.isValid() else -1
        view = self.w.river_view
        top = view.indexAt(view.viewport().rect().topLeft())
        return max(row, top.row() - 1 if top.isValid() else -1)

    @Slot(object)
    def _on_page_loaded(self, loaded: tuple[RiverPage, dict[int, float]]) -> None:
        self.running = False
        page, scores = loaded
        bar = self.w.river_view.verticalScrollBar()
        scrolled = bar.value()
        changed = self.w.river.rerank_below(page, self.anchor(), scores)
        bar.setValue(scrolled)
        if changed >= 0:
            log.debug(
                "For you re-ranked below the reader in %.0f ms (%d rows changed)",
                (time.perf_counter() - self._asked) * 1000,
                changed,
            )
            if changed:
                self.w.say("For you re-ranked the articles below from what you just did.")
            self.reranked.emit(changed)
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
    def _on_shares_loaded(
        self, loaded: tuple[int, dict[int, tuple[tuple[str, float], ...]]]
    ) -> None:
        self.w.river.set_shares(*loaded)

    @Slot(object)
    def _on_page_failed(self, failure: JobFailure) -> None:
        self.running = False
        report(self.w.runner, failure)
        if self._again:
            self.rerank()
