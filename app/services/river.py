"""The river as the window receives it (:class:`River` pages of :class:`RiverItem` rows) and
:class:`Ranking`, the protocol the window asks the reader's model through.

:class:`app.services.ranking.Ranker` implements the protocol in this process and
:class:`app.services.remote.RemoteRanker` by proxy to helper processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from app.services.explanation import ArticleExplanation
from app.services.highlight import TitleShares
from app.services.training import TrainProgress, TrainReport
from app.storage.record import ArticleRecord, ModelVersionRecord


@dataclass(frozen=True)
class RiverFilter:
    """Which articles a view of the river lists; its order and page are asked for apart."""

    include_read: bool = False
    feed_id: int | None = None
    folder: str | None = None
    starred_only: bool = False
    search: str | None = None

    def query(self) -> dict[str, Any]:
        """The filter as keyword arguments of ``articles.list_articles`` and
        ``articles.list_candidates``."""
        return {
            "unread_only": not self.include_read,
            "feed_id": self.feed_id,
            "folder": self.folder,
            "starred_only": self.starred_only,
            "search": self.search,
        }


UNREAD = RiverFilter()
"""Every unread article: the river's default view."""


@dataclass(frozen=True)
class RiverItem:
    """One row of the river: an article and its ranked score (:mod:`app.services.score`; None
    in Latest, whose rows the window scores apart, and without a model)."""

    article: ArticleRecord
    score: float | None
    muted: bool = False


@dataclass(frozen=True)
class TimeKey:
    """Where the next page of a view in time order starts: just after this row, by the river's
    (sort time, id) order. Rows the reader marks read above it shift nothing below it, so no
    unread article is skipped or shown twice while the reader reads."""

    time: datetime
    id: int


@dataclass(frozen=True, eq=False)
class RankKey:
    """Where the next page of a ranked view starts: a snapshot of the whole view's order, taken
    when its first page was ranked, and the position reached in it. Later pages are cut from
    the snapshot, so a click, a read mark or a newly trained model while the reader scrolls
    neither skips nor repeats a row (the next visit of the view ranks afresh)."""

    ids: npt.NDArray[np.int64]  # [N] article ids in "For you" order
    scores: npt.NDArray[np.float64]  # [N] their blended scores
    muted: npt.NDArray[np.bool_]  # [N] whether each matches a mute rule
    position: int = 0
    unranked: int = 0
    """For you's articles not ranked yet when the snapshot was taken (:attr:`River.unranked`)."""

    def page(self, limit: int) -> tuple[list[int], list[float], list[bool], RankKey | None]:
        """The next ``limit`` ids, their scores and mute flags, and the key after them."""
        end = self.position + max(0, limit)
        cut = slice(self.position, end)
        following = None
        if end < len(self.ids):
            following = RankKey(self.ids, self.scores, self.muted, end, self.unranked)
        return (
            self.ids[cut].tolist(),
            self.scores[cut].tolist(),
            self.muted[cut].tolist(),
            following,
        )


PageKey = TimeKey | RankKey
"""Where the next page of a view starts; the window hands back :attr:`River.next` unopened."""


@dataclass(frozen=True)
class River:
    """A page of the river and how it was ordered; ``next`` continues the same view (None when
    this page is its last). ``unranked`` counts For you's articles not ranked yet: a large pool
    of new articles is ranked newest first, a slice at a time, each later first page of For you
    taking in one more slice (:mod:`app.services.scorer`)."""

    items: tuple[RiverItem, ...]
    mode: str
    notice: str | None
    clicks: int
    clicks_needed: int
    muted: int = 0
    next: PageKey | None = field(default=None, compare=False)
    unranked: int = 0


class Ranking(Protocol):
    """What the window asks of the reader's model: :class:`app.services.ranking.Ranker` in this
    process, or a proxy to one in a helper process (:class:`app.services.remote.RemoteRanker`)."""

    def preload(self) -> None: ...

    def river(
        self,
        *,
        ranked: bool,
        limit: int = 100,
        offset: int = 0,
        view: RiverFilter = UNREAD,
        after: PageKey | None = None,
    ) -> River: ...

    def shown_above(self, article_id: int, *, ranked: bool) -> list[int]: ...

    def train(
        self,
        *,
        epochs: int | None = None,
        device: str | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainReport: ...

    def model_versions(self) -> list[ModelVersionRecord]: ...

    def explain(self, article_id: int) -> ArticleExplanation: ...

    def word_shares(self, article_ids: Sequence[int]) -> dict[int, TitleShares]: ...

    def scores(self, article_ids: Sequence[int]) -> dict[int, float]: ...

    def close(self) -> None: ...
