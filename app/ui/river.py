"""The river: the list of articles as a lazily paged item model.

Pages come from :meth:`Ranker.river` on the job pool; ``fetchMore`` asks for the next page and
``canFetchMore`` stays False while one is in flight, so the view never waits on the database.
Each page hands back the key of the next (:attr:`River.next`), never a row offset: the unread
views shrink as the reader marks rows read, and an offset would then skip unread articles.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)

from app.services.highlight import TitleShares
from app.services.ranking import Ranking, RankingError, River
from app.services.river import UNREAD, PageKey, RiverFilter
from app.storage.record import ArticleRecord
from app.ui import access
from app.ui.worker import JobFailure, JobRunner, report

log = logging.getLogger(__name__)

PAGE_SIZE = 200

Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    """Data roles of the river beyond Qt's own."""

    ARTICLE = Qt.ItemDataRole.UserRole + 1
    ARTICLE_ID = Qt.ItemDataRole.UserRole + 2
    SCORE = Qt.ItemDataRole.UserRole + 3
    MUTED = Qt.ItemDataRole.UserRole + 4
    SHARES = Qt.ItemDataRole.UserRole + 5
    READ = Qt.ItemDataRole.UserRole + 6
    STARRED = Qt.ItemDataRole.UserRole + 7
    ALSO_IN = Qt.ItemDataRole.UserRole + 8


Stories = Callable[[Sequence[int]], Mapping[int, Sequence[str]]]
"""For article ids, the titles of the other feeds whose copies were folded into each (see
:func:`app.services.story.also_in`); ids without copies are left out."""


@dataclass(frozen=True)
class RiverQuery:
    """Which articles the river shows and in which order."""

    ranked: bool = False
    view: RiverFilter = UNREAD


@dataclass(frozen=True)
class RiverPage:
    """One loaded page, tagged with the generation of the query that asked for it."""

    generation: int
    after: PageKey | None
    river: River
    shares: dict[int, TitleShares]
    also_in: dict[int, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One row of the model."""

    article: ArticleRecord
    score: float | None
    muted: bool


def load_page(
    ranker: Ranking,
    query: RiverQuery,
    generation: int,
    after: PageKey | None,
    limit: int,
    stories: Stories | None = None,
    *,
    highlights: bool = True,
) -> RiverPage:
    """Fetch the page after ``after`` (the first when None); runs on a pool thread. With
    ``stories``, each folded row's "also in" feeds come with the page (one query a page), so
    painting a row never asks the database. Without ``highlights`` a ranked page comes
    without its rows' word shares (asked for apart, :func:`word_shares`)."""
    river = ranker.river(ranked=query.ranked, limit=limit, view=query.view, after=after)
    if river.mode != "ranked" and river.items:
        river = with_scores(ranker, river)
    shares: dict[int, TitleShares] = {}
    if highlights and river.mode == "ranked" and river.items:
        try:
            shares = ranker.word_shares([i.article.id for i in river.items])
        except Exception:  # highlights are a nicety: the page is shown without them
            log.exception("word shares for the river failed")
    also_in: dict[int, tuple[str, ...]] = {}
    if stories is not None and river.items:
        try:
            found = stories([i.article.id for i in river.items])
            also_in = {k: tuple(v) for k, v in found.items() if v}
        except Exception:  # "also in" is a nicety: the page is shown without it
            log.exception("the river's folded stories could not be read")
    return RiverPage(generation, after, river, shares, also_in)


def word_shares(
    ranker: Ranking, generation: int, article_ids: Sequence[int]
) -> tuple[int, dict[int, TitleShares]]:
    """The rows' word shares for their highlights, tagged with the load of the view they are
    for; runs on a pool thread ({} when they cannot be had: highlights are a nicety)."""
    try:
        return generation, ranker.word_shares(list(article_ids))
    except RankingError as exc:  # the model is gone (the window closing, say) or unusable
        log.info("no word shares for the river: %s", exc)
    except Exception:
        log.exception("word shares for the river failed")
    return generation, {}


def with_scores(ranker: Ranking, river: River) -> River:
    """A page of Latest (or a feed) with each row's ranked score, the number For you shows for
    it (unchanged while For you has no model)."""
    try:
        scores = ranker.scores([i.article.id for i in river.items])
    except Exception:  # a score is a nicety here: the page is shown without
        log.exception("scores for the river failed")
        return river
    if not scores:
        return river
    items = tuple(
        dataclasses.replace(i, score=scores.get(i.article.id, i.score)) for i in river.items
    )
    return dataclasses.replace(river, items=items)


class RiverModel(QAbstractListModel):
    """Articles of the current view; pages of :data:`PAGE_SIZE` are loaded as the view scrolls.

    ``loaded(River)`` is emitted after each page arrives; ``notice`` is the ranker's sentence
    (for example how many clicks "For you" still needs), or "". ``stories`` gives the folded
    rows' "also in" feeds with each page (:data:`Role.ALSO_IN`).
    """

    loaded = Signal(object)

    def __init__(
        self,
        ranker: Ranking,
        runner: JobRunner,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
        stories: Stories | None = None,
    ) -> None:
        super().__init__(parent)
        self._ranker = ranker
        self._stories = stories
        self._also_in: dict[int, tuple[str, ...]] = {}
        self._runner = runner
        self._page_size = page_size
        self._rows: list[Row] = []
        self._index: dict[int, int] = {}
        self._shares: dict[int, TitleShares] = {}
        self._query = RiverQuery()
        self._generation = 0
        self._loading = False
        self._exhausted = True
        self._next: PageKey | None = None
        self.mode = "latest"
        self.notice = ""

    # -- queries ---------------------------------------------------------------------------

    @property
    def query(self) -> RiverQuery:
        return self._query

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def generation(self) -> int:
        """Which load of the view the rows belong to (a page of an older one is dropped)."""
        return self._generation

    @property
    def stories(self) -> Stories | None:
        """What gives each page its folded rows' "also in" feeds (for :func:`load_page`)."""
        return self._stories

    def set_query(self, query: RiverQuery) -> None:
        """Show another view: clears the rows and loads its first page."""
        self._query = query
        self.reload()

    def reload(self) -> None:
        """Reload the current view from the start."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._index = {}
        self._shares = {}
        self._also_in = {}
        self._exhausted = False
        self._loading = False
        self._next = None
        self.endResetModel()
        self._request(None)

    def _request(self, after: PageKey | None) -> None:
        self._loading = True
        self._runner.submit(
            "loading articles",
            load_page,
            self._ranker,
            self._query,
            self._generation,
            after,
            self._page_size,
            self._stories,
            done=self._on_page_loaded,
            failed=self._on_page_failed,
        )

    @Slot(object)
    def _on_page_loaded(self, page: RiverPage) -> None:
        if page.generation != self._generation:
            return
        self._loading = False
        items = [i for i in page.river.items if i.article.id not in self._index]
        self.mode = page.river.mode
        self.notice = page.river.notice or ""
        self._next = page.river.next
        if self._next is None:
            self._exhausted = True
        if items:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
            for item in items:
                self._index[item.article.id] = len(self._rows)
                self._rows.append(Row(item.article, item.score, item.muted))
            self._shares.update(page.shares)
            self._also_in.update(page.also_in)
            self.endInsertRows()
        self.loaded.emit(page.river)

    @Slot(object)
    def _on_page_failed(self, failure: JobFailure) -> None:
        self._loading = False
        self._exhausted = True
        report(self._runner, failure)

    def rerank_below(
        self, page: RiverPage, anchor: int, scores: Mapping[int, float] | None = None
    ) -> int:
        """Re-rank the rows below row ``anchor`` by ``page``, the view's first page ranked anew
        (:func:`load_page` after a click): rows 0 to ``anchor`` stay where they are, the rows
        below become the page's rows not among them, in its order, and later pages go on from
        its snapshot. Rows are removed and inserted below ``anchor`` only, so the selection and
        everything above it keep their rows, but show their new scores (from the page, else
        from ``scores``: the row being read has left the unread river), so that a row's number
        is the one "Why this?" gives now. Returns how many of the rows below changed; -1
        when the page is of another load of the view or not ranked (then nothing changes)."""
        if page.generation != self._generation or page.river.mode != "ranked":
            return -1
        first = max(0, min(anchor + 1, len(self._rows)))
        kept = {r.article.id for r in self._rows[:first]}
        now: dict[int, float | None] = {a: v for a, v in (scores or {}).items() if a in kept}
        now.update({i.article.id: i.score for i in page.river.items if i.article.id in kept})
        for n, r in enumerate(self._rows[:first]):  # in place: only the number moves
            if r.article.id in now and now[r.article.id] != r.score:
                self._rows[n] = Row(r.article, now[r.article.id], r.muted)
        below = [Row(i.article, i.score, i.muted) for i in page.river.items]
        below = [r for r in below if r.article.id not in kept]
        before = [r.article.id for r in self._rows[first:]]
        changed = sum(a != r.article.id for a, r in zip(before, below, strict=False)) + abs(
            len(before) - len(below)
        )
        self._generation += 1  # a page still in flight goes on in the old order: drop it
        self._loading = False
        self._next = page.river.next
        self._exhausted = self._next is None
        if before:
            self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
            del self._rows[first:]
            self.endRemoveRows()
        if below:
            self.beginInsertRows(QModelIndex(), first, first + len(below) - 1)
            self._rows.extend(below)
            self.endInsertRows()
        self._index = {r.article.id: n for n, r in enumerate(self._rows)}
        self._shares.update(page.shares)
        self._also_in.update(page.also_in)
        self.mode = page.river.mode
        self.notice = page.river.notice or ""
        if first:
            self.dataChanged.emit(self.index(0), self.index(first - 1))
        self.loaded.emit(page.river)
        return changed

    def set_shares(self, generation: int, shares: Mapping[int, TitleShares]) -> None:
        """Show these rows' word shares (of load ``generation`` of the view; else dropped)."""
        if generation != self._generation or not shares:
            return
        self._shares.update(shares)
        rows = sorted(self._index[a] for a in shares if a in self._index)
        if rows:
            self.dataChanged.emit(self.index(rows[0]), self.index(rows[-1]), [Role.SHARES])

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802
        return not parent.isValid() and not self._loading and not self._exhausted

    def fetchMore(self, parent: Index) -> None:  # noqa: N802
        if self.canFetchMore(parent):
            self._request(self._next)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        article = row.article
        if role == Qt.ItemDataRole.DisplayRole:
            return article.title
        if role == Qt.ItemDataRole.ToolTipRole:
            also = self._also_in.get(article.id)
            feeds = article.feed_title + (f" (also in {', '.join(also)})" if also else "")
            return f"{article.title}\n{feeds}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return access.row_name(article, row.score)
        if role == Role.ARTICLE:
            return article
        if role == Role.ARTICLE_ID:
            return article.id
        if role == Role.SCORE:
            return row.score
        if role == Role.MUTED:
            return row.muted
        if role == Role.SHARES:
            return self._shares.get(article.id)
        if role == Role.READ:
            return article.read
        if role == Role.STARRED:
            return article.starred
        if role == Role.ALSO_IN:
            return self._also_in.get(article.id, ())
        return None

    # -- rows ------------------------------------------------------------------------------

    def row_of(self, article_id: int) -> int | None:
        """The row showing ``article_id``, if loaded."""
        return self._index.get(article_id)

    def article_at(self, row: int) -> ArticleRecord | None:
        """The article on ``row``, or None."""
        return self._rows[row].article if 0 <= row < len(self._rows) else None

    def ids_above(self, row: int, limit: int = 50) -> list[int]:
        """Ids of up to ``limit`` rows just above ``row``, top first."""
        start = max(0, row - limit)
        return [r.article.id for r in self._rows[start:row]]

    def update_article(self, article_id: int, **changes: Any) -> None:
        """Change fields of a shown article (``read=``, ``starred=``) and repaint its row."""
        row = self._index.get(article_id)
        if row is None:
            return
        current = self._rows[row]
        self._rows[row] = dataclasses.replace(
            current, article=dataclasses.replace(current.article, **changes)
        )
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def rename_feed(self, feed_id: int, title: str) -> None:
        """Show the feed's new name on its loaded rows."""
        changed = [r for r, row in enumerate(self._rows) if row.article.feed_id == feed_id]
        for r in changed:
            row = self._rows[r]
            if row.article.feed_title != title:
                article = dataclasses.replace(row.article, feed_title=title)
                self._rows[r] = dataclasses.replace(row, article=article)
        if changed:
            self.dataChanged.emit(self.index(changed[0]), self.index(changed[-1]))

    def mark_all_shown_read(self) -> None:
        """Show every loaded row as read."""
        if not self._rows:
            return
        self._rows = [
            dataclasses.replace(r, article=dataclasses.replace(r.article, read=True))
            for r in self._rows
        ]
        self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))
