"""The one score: the ranked scores of the unread river (the pool's :class:`ScoreTable`),
which every view's scores are read from, and the model's click scores behind them.

:class:`Scorer` is the middle of :class:`app.services.ranking.Ranker`: it adds the score table
to :class:`app.services.loader.ModelLoader`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from app.services import guard, model
from app.services.cache import VectorCache
from app.services.loader import FloatArray, ModelLoader
from app.services.model import Loaded, RankingError, article_texts, model_ready
from app.services.profile import Profile
from app.services.score import (
    EXPLORE_SHOWN,
    SEAT_WINDOW,
    RankedScore,
    ScoreTable,
    open_shares,
    score_table,
    seats,
)
from app.services.training import source_of
from app.storage import articles, events, query
from app.storage.record import Candidate
from nrms_core import click_score

if TYPE_CHECKING:
    from nrms_core import Recommender

TABLE_TTL = timedelta(minutes=10)
"""How long one moment's freshness stands for the river's scores while nothing else changes."""
SHOWN_WITHIN = timedelta(days=30)
"""A feed's headlines shown longer ago than this no longer make it known to the reader
(:func:`app.services.score.explorers`): a feed passed over a month ago is looked at again."""
BY_ROW_CHUNK = 4096
"""Articles scored one by one (:meth:`Scorer._click_of`) are taken this many at a time."""
FIRST_SLICE_CHUNKS = 1
"""A progressive ranker (the model host's) encodes this many chunks of
:data:`app.services.model.ENCODE_CHUNK` titles (16,384), the pool's newest unencoded articles,
before For you is first shown; the rest wait for later rankings (:meth:`Scorer._score_table`).
A fresh model's first For you at 100,000 articles otherwise waits for the whole encode
(8-9 s on two shared cores), though the reader looks at its top rows first. Whole chunks, so
that the titles are encoded in the very batches a single encode of the pool would use, and the
vectors, hence the scores, come out the same bit for bit."""
LATER_SLICE_CHUNKS = 2
"""Chunks encoded by each later ranking of For you while some of its pool waits: about 2-3 s
on two shared cores, so that an explanation asked meanwhile waits no longer than that."""


class Scorer(ModelLoader):
    """The reader's model in use, scoring: For you's score table, recomputed when the model,
    the clicks or the pool change or when it is TABLE_TTL old, and each article's ranked score
    read from it (or, for an article outside the pool, scored as if ranked among it)."""

    def __init__(
        self,
        profile: Profile,
        *,
        device: str | None = None,
        load_models: bool = True,
        clock: Callable[[], datetime],
        progressive: bool = False,
    ) -> None:
        """``clock`` gives the moment scores are computed for (to the minute). A
        ``progressive`` scorer ranks a large pool of new articles a slice at a time (see
        :meth:`_score_table`); otherwise every table covers the whole pool."""
        super().__init__(profile, device=device, load_models=load_models)
        self._clock = clock
        self._progressive = progressive
        self._table: tuple[Hashable, ScoreTable] | None = None
        self._pool: Pool | None = None
        self._backlog: tuple[int, dict[int, tuple[str, str]]] | None = None
        """(model version, (title, source) by id) of the pool's articles not encoded yet."""

    def _score_table(self, loaded: Loaded, *, advance: bool = False) -> ScoreTable:
        """The ranked scores of the unread river (For you's pool), which every view's scores
        are read from; recomputed when the model, the reader's history (:meth:`_history`) or
        the pool change, or when it is TABLE_TTL old (freshness moves slowly), so views asked
        minutes apart agree.

        A click (or "more / less like this") only changes the history and takes the article
        read out of the pool, so the table is then recomputed from :class:`Pool`, the parts of
        the pool no click changes (its rows, feeds, times and click biases, kept from the last
        full listing for up to TABLE_TTL): a new reader vector, one product with the cached
        article vectors, and the spreading anew. That gives the numbers a full rescore would,
        in a fraction of its time (no listing of the pool, no bias look-ups).

        A progressive scorer whose pool holds more than :data:`FIRST_SLICE_CHUNKS` chunks of
        articles without vectors encodes only the newest of them when it lists the pool, and
        one :data:`LATER_SLICE_CHUNKS` slice more at each call with ``advance`` (For you's
        first page, :meth:`app.services.ranking.Ranker.river`); until the last, the table
        ranks the articles with a vector and lists the others as ``unranked``. Every view
        reads the same table meanwhile, so a row's number is still the one "Why this?" gives;
        an unranked article another view shows is scored as if ranked among it, like a read
        one. When none is left the table is the one a single ranking of the pool gives."""
        with self._profile.db.read() as s:
            ids = np.asarray(query.candidate_ids(s, unread_only=True), np.int64)
            said = frozenset(events.said_feeds(s))  # "fewer from this feed" ends a look at once
        history = self._history()
        key = (loaded.version.id, history, len(ids), hash(ids.tobytes()), said)
        now = self._clock()
        with self._lock:
            if self._table is not None and self._table[0] == key:
                table = self._table[1]
                then = table.now
                fresh = then is not None and now - then < TABLE_TTL
                if fresh and not (advance and len(table.unranked)):
                    return table
            pool = self._pool.within(loaded.version.id, ids, now) if self._pool else None
        if pool is None:  # listed afresh: the table is of these rows, so keyed by them
            pool = self._list_pool(loaded, now)
            key = (loaded.version.id, history, len(pool.ids), hash(pool.ids.tobytes()), said)
        elif advance:
            self._encode_next(loaded, pool)
        pool, unranked = pool.ranked(loaded.cache)
        user, recent, _ = self._user_vector(loaded, history)
        raw = loaded.cache.scores(pool.ids.tolist(), user)  # [N] uᵀr
        if raw is None:
            raise RankingError("some articles are gone; refresh the view")
        click = click_score(loaded.model.scale, raw, pool.feed_bias, pool.lexical)
        with self._profile.db.read() as s:
            feed_of = articles.article_feeds(s, recent)
            seated = seats(events.opened_feeds(s, SEAT_WINDOW))
        read_feeds = [feed_of[a] for a in recent if a in feed_of]  # one per recent open
        table = score_table(
            pool.ids,
            np.asarray(click, dtype=np.float32),
            ages_hours=pool.ages(now),
            feeds=pool.feeds,
            opens=open_shares(read_feeds),
            now=now,
            unranked=unranked,
            seated=seated,
            known=pool.known | said,
        )
        with self._lock:
            self._table = (key, table)
        return table

    def _encode_next(self, loaded: Loaded, pool: Pool) -> None:
        """Encode the next :data:`LATER_SLICE_CHUNKS` chunks of the pool's articles without a
        vector, newest first (the titles kept from the listing, else read); the cache file is
        written after the last slice."""
        waiting = pool.ids[~loaded.cache.has(pool.ids)]  # [M] newest first
        if not len(waiting):
            return
        ids = waiting[: model.ENCODE_CHUNK * LATER_SLICE_CHUNKS].tolist()
        kept = self._backlog[1] if self._backlog and self._backlog[0] == loaded.version.id else {}
        unknown = [a for a in ids if a not in kept]
        texts = {a: kept.pop(a) for a in ids if a in kept}
        if unknown:
            texts.update(article_texts(self._profile.db, unknown))
        last = len(ids) == len(waiting)
        self._encode_missing(loaded, ids, texts, save=last)
        if last:
            self._backlog = None
        with self._lock:  # later tables read the new biases from the kept pool, not the cache
            if self._pool is not None and self._pool.version == loaded.version.id:
                self._pool = self._pool.filled(loaded.cache)

    def _list_pool(self, loaded: Loaded, now: datetime) -> Pool:
        """The pool listed in full, its missing vectors encoded, and kept for later tables."""
        with self._profile.db.read() as s:
            candidates = articles.list_candidates(s, unread_only=True)
        ids = [c.id for c in candidates]
        missing = loaded.cache.missing(ids)
        if missing:
            wanted = set(missing)
            texts = {c.id: (c.title, source_of(c.feed_id)) for c in candidates if c.id in wanted}
            first = len(missing)
            if self._progressive:
                first = min(first, model.ENCODE_CHUNK * FIRST_SLICE_CHUNKS)
            self._encode_missing(loaded, missing[:first], texts, save=first == len(missing))
            rest = {a: texts[a] for a in missing[first:]}
            self._backlog = (loaded.version.id, rest) if rest else None
            del texts, wanted
        listed = np.asarray(ids, np.int64)  # [N]
        found = loaded.cache.has(listed)  # [N]
        lexical = np.full(len(ids), np.nan, np.float32)  # [N] NaN: not encoded yet
        known = loaded.cache.lexical(listed[found].tolist())
        if known is None:
            raise RankingError("some articles are gone; refresh the view")
        lexical[found] = known
        feeds = np.asarray([c.feed_id for c in candidates], np.int64)  # [N]
        distinct, inverse = np.unique(feeds, return_inverse=True)  # [F], [N]
        bias = loaded.model.source_bias([source_of(int(f)) for f in distinct])  # [F]
        with self._profile.db.read() as s:
            familiar = events.known_feeds(s, shown=EXPLORE_SHOWN, since=now - SHOWN_WITHIN)
        pool = Pool(
            version=loaded.version.id,
            ids=listed,
            feeds=feeds,
            times_us=np.asarray([_microseconds(c.time) for c in candidates], np.int64),
            feed_bias=np.asarray(bias)[inverse],
            lexical=lexical,
            listed=now,
            known=frozenset(familiar),
        )
        with self._lock:
            self._pool = pool
        return pool

    def _click_of(
        self,
        loaded: Loaded,
        candidates: Sequence[Candidate],
        user: FloatArray,
        *,
        by_row: bool = False,
    ) -> FloatArray:
        """The model's click scores [N] of these articles for the reader vector ``user``.

        ``by_row`` computes each article's uᵀr on its own (in float64), so that its value does
        not depend on which other articles were scored with it: for articles outside the pool,
        which different views score in different company.
        """
        ids = [c.id for c in candidates]
        if not ids:
            return np.zeros(0, np.float32)
        if loaded.cache.missing(ids):
            texts = {c.id: (c.title, source_of(c.feed_id)) for c in candidates}
            self._encode_missing(loaded, ids, texts)
            del texts
        raw: FloatArray | None
        if by_row:
            raw = np.zeros(len(ids), np.float32)
            u = np.asarray(user, np.float64)
            for start in range(0, len(ids), BY_ROW_CHUNK):
                rows = loaded.cache.rows(ids[start : start + BY_ROW_CHUNK])  # [n, D]
                if rows is None:
                    raw = None
                    break
                raw[start : start + len(rows)] = (rows.astype(np.float64) * u).sum(axis=1)
        else:
            raw = loaded.cache.scores(ids, user)  # [N] uᵀr
        lexical = loaded.cache.lexical(ids)  # [N]
        if raw is None or lexical is None:
            raise RankingError("some articles are gone; refresh the view")
        feeds = np.asarray([c.feed_id for c in candidates], np.int64)  # [N]
        return _click_scores(loaded.model, raw, feeds, lexical)

    def _ranked_scores(self, loaded: Loaded, candidates: Sequence[Candidate]) -> list[RankedScore]:
        """The ranked score, in parts, of each candidate: read from the pool's table, or, for
        an article outside the pool (a read one), scored as if it were ranked among it."""
        table = self._score_table(loaded)
        row = table.position()
        outside = [c for c in candidates if c.id not in row]
        extra: dict[int, RankedScore] = {}
        if outside:
            user, _, _ = self._user_vector(loaded)
            click = self._click_of(loaded, outside, user, by_row=True)
            ages = hours_old(outside, table.now or self._clock())
            for c, value, age in zip(outside, click.tolist(), ages.tolist(), strict=True):
                extra[c.id] = table.outsider(value, age, c.feed_id)
        return [table.get(row[c.id]) if c.id in row else extra[c.id] for c in candidates]

    def scores(self, article_ids: Sequence[int]) -> dict[int, float]:
        """The ranked score of each article, as For you shows it, for the rows of another view
        (Latest, a feed); {} while For you has no model or too few clicks."""
        db = self._profile.db
        if not article_ids or not model_ready(db) or guard.mode(db) == guard.LATEST:
            return {}
        with self._lock:
            loaded = self._current()
            if loaded is None:
                return {}
            with self._profile.db.read() as s:
                records = articles.list_articles(
                    s, ids=list(article_ids), limit=len(article_ids), unread_only=False
                )
            candidates = [
                Candidate(a.id, a.feed_id, a.title, articles.sort_time(a)) for a in records
            ]
            parts = self._ranked_scores(loaded, candidates)
        return {c.id: p.total for c, p in zip(candidates, parts, strict=True)}

    def ranked_score(self, article_id: int) -> tuple[RankedScore, float | None]:
        """One article's ranked score in parts, and the median score of For you's river."""
        with self._lock:
            loaded = self._current()
            if loaded is None:
                raise RankingError("there is no trained model yet, so nothing to score")
            with self._profile.db.read() as s:
                record = articles.get_article(s, article_id)
            if record is None:
                raise RankingError(f"there is no article {article_id}")
            candidate = Candidate(
                record.id, record.feed_id, record.title, articles.sort_time(record)
            )
            return self._ranked_scores(loaded, [candidate])[0], self._score_table(loaded).median


@dataclass(frozen=True)
class Pool:
    """The parts of For you's pool that no click changes, in the pool's order (newest first):
    what :meth:`Scorer._score_table` rescores from after a click instead of listing the pool
    again. Read rows leave it (:meth:`within`); a new row, another model or TABLE_TTL since it
    was listed (an entry edited in place, say) makes the next table list the pool afresh."""

    version: int
    ids: npt.NDArray[np.int64]  # [N]
    feeds: npt.NDArray[np.int64]  # [N]
    times_us: npt.NDArray[np.int64]  # [N] sort time, microseconds since the epoch
    feed_bias: npt.NDArray[np.floating[Any]]  # [N] the model's bias of each one's feed
    lexical: FloatArray  # [N] the model's lexical click bias of each (NaN: not encoded then)
    listed: datetime
    known: frozenset[int] = frozenset()
    """The feeds the reader knows when it was listed (:func:`app.storage.events.known_feeds`);
    the feeds said about since are added at each table."""

    def within(self, version: int, ids: npt.NDArray[np.int64], now: datetime) -> Pool | None:
        """The pool cut down to ``ids`` (the pool as it is now), or None when ``ids`` holds an
        article not in it, in another order, or the model or the listing is too old."""
        if version != self.version or not timedelta(0) <= now - self.listed < TABLE_TTL:
            return None
        if len(ids) == len(self.ids) and np.array_equal(ids, self.ids):
            return self
        if not len(self.ids):
            return None
        order = np.argsort(self.ids, kind="stable")
        at = np.minimum(np.searchsorted(self.ids, ids, sorter=order), len(self.ids) - 1)
        rows = order[at]  # [M] each id's row in the pool
        if not np.array_equal(self.ids[rows], ids) or np.any(np.diff(rows) <= 0):
            return None
        return self._rows(rows)

    def _rows(self, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Pool:
        """The pool cut to ``rows`` (indices or a mask [N]), in their order."""
        return dataclasses.replace(
            self,
            ids=self.ids[rows],
            feeds=self.feeds[rows],
            times_us=self.times_us[rows],
            feed_bias=self.feed_bias[rows],
            lexical=self.lexical[rows],
        )

    def filled(self, cache: VectorCache, found: npt.NDArray[np.bool_] | None = None) -> Pool:
        """The pool with the lexical biases of the articles encoded since it was listed (NaN
        until then) read from ``cache``; ``found`` [N]: which have a vector, when known."""
        found = cache.has(self.ids) if found is None else found  # [N]
        late = found & np.isnan(self.lexical)  # [N]
        if not late.any():
            return self
        biases = cache.lexical(self.ids[late].tolist())
        if biases is None:
            raise RankingError("some articles are gone; refresh the view")
        lexical = self.lexical.copy()
        lexical[late] = biases
        return dataclasses.replace(self, lexical=lexical)

    def ranked(self, cache: VectorCache) -> tuple[Pool, npt.NDArray[np.int64]]:
        """The pool cut to the articles that have a vector in ``cache`` (:meth:`filled`), and
        the ids of the others [M], newest first: what a progressive ranking has not reached
        yet."""
        found = cache.has(self.ids)  # [N]
        pool = self.filled(cache, found)
        if found.all():
            return pool, self.ids[:0]
        return pool._rows(found), self.ids[~found]

    def ages(self, now: datetime) -> npt.NDArray[np.float64]:
        """Each article's age in hours at ``now`` [N], exactly as :func:`hours_old` gives it."""
        return np.asarray((_microseconds(now) - self.times_us) / 1e6 / 3600.0, np.float64)


def _microseconds(when: datetime) -> int:
    """``when`` in whole microseconds since the epoch (exact, unlike a float timestamp)."""
    return (when - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def hours_old(candidates: Sequence[Candidate], now: datetime) -> npt.NDArray[np.float64]:
    """Each article's age in hours at ``now`` [N]."""
    return np.asarray([(now - c.time).total_seconds() / 3600.0 for c in candidates], np.float64)


def _click_scores(
    model: Recommender, raw: FloatArray, feeds: npt.NDArray[np.int64], lexical: FloatArray
) -> FloatArray:
    """The model's click scores (:func:`nrms_core.click.click_score`) [N] from raw scores
    uᵀr [N], the articles' feed ids [N] and their cached lexical biases [N]: the feed bias is
    looked up once per distinct feed."""
    distinct, inverse = np.unique(feeds, return_inverse=True)  # [F], [N]
    bias = model.source_bias([source_of(int(f)) for f in distinct])  # [F]
    return np.asarray(click_score(model.scale, raw, bias[inverse], lexical), dtype=np.float32)
