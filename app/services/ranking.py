"""Ranking the river by the reader's model, training it on their clicks, and explaining it.

This module holds :class:`Ranker` (loading the newest checkpoint, ranking the river, explaining
scores) and the score :func:`blend`. The training round itself is :mod:`app.services.tuning`;
checkpoint paths, encoding and :class:`RankingError` are in :mod:`app.services.model`; the river
records and the :class:`Ranking` protocol the window uses are in :mod:`app.services.river`.

torch loads lazily: nothing here imports ``nrms_core`` modules that need it until a ranked view,
a training round or an explanation is asked for (or :meth:`Ranker.preload` runs in the
background), so the window appears first.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from app.services import guard, heap, mute, preference
from app.services.cache import VectorCache
from app.services.explanation import ArticleExplanation, FeedShare, PastShare, WordShare
from app.services.highlight import highlight_rule
from app.services.model import (
    MIN_CLICKS,
    Loaded,
    RankingError,
    article_texts,
    cache_path,
    checkpoint_path,
    encode,
    file_sha256,
    forget_tokens,
    model_ready,
    source_token,
)
from app.services.profile import Profile
from app.services.river import (
    UNREAD,
    PageKey,
    Ranking,
    RankKey,
    River,
    RiverFilter,
    RiverItem,
    TimeKey,
)
from app.services.score import RankedScore, ScoreTable, open_shares, score_table
from app.services.training import TrainProgress, TrainReport, source_of
from app.services.tuning import run_round
from app.storage import articles, events
from app.storage.record import Candidate, ModelVersionRecord
from nrms_core import click_score

if TYPE_CHECKING:
    from nrms_core import Recommender

log = logging.getLogger(__name__)

HISTORY = 50
TABLE_TTL = timedelta(minutes=10)
"""How long one moment's freshness stands for the river's scores while nothing else changes."""
BY_ROW_CHUNK = 4096
"""Articles scored one by one (:meth:`Ranker._click_of`) are taken this many at a time."""
TRIM_AFTER = 4096
"""Encodes of at least this many titles hand their freed memory back to the system."""

FloatArray = npt.NDArray[np.float32]


_Order = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]
"""Ranked ids, their ranked scores and whether each is muted, all in "For you" order."""


def _now() -> datetime:
    """The moment scores are computed for, to the minute: two views (or two commands) asked
    within the same minute show the same freshness, hence the same score."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


class Ranker:
    """The reader's model in use: loads the newest checkpoint, caches article vectors per model
    version, ranks, trains and explains. Thread-safe; share one per profile."""

    def __init__(
        self, profile: Profile, *, device: str | None = None, load_models: bool = True
    ) -> None:
        """``load_models=False`` makes a ranker that never loads a model (nor torch): it serves
        Latest and the "For you" notices, for a process that leaves the model to a helper."""
        self._profile = profile
        self._device = device
        self._load_models = load_models
        self._lock = threading.RLock()
        self._loaded: Loaded | None = None
        self._unusable: set[int] = set()
        self._last_order: tuple[Hashable, _Order] | None = None
        self._table: tuple[Hashable, ScoreTable] | None = None

    # -- loading ---------------------------------------------------------------------------

    def preload(self) -> None:
        """Import torch and load the current model; meant for a background thread at start-up."""
        if not self._load_models:
            return
        from nrms_core import Recommender  # noqa: F401  (the import is the work)

        with self._lock:
            self._current()

    def _current(self) -> Loaded | None:
        """The newest loadable model (reloaded when training made a newer one)."""
        if not self._load_models:
            return None
        with self._profile.db.read() as s:
            versions = events.list_model_versions(s)
        if not versions:
            return None
        usable = [v for v in versions if v.id not in self._unusable]
        if self._loaded is not None and usable and self._loaded.version.id == usable[-1].id:
            return self._loaded
        from nrms_core import CheckpointError, Recommender

        for version in reversed(usable):
            path = checkpoint_path(self._profile, version)
            try:
                if file_sha256(path) != version.sha256:
                    raise CheckpointError(f"{path.name} is not the file that training wrote")
                model = Recommender.load(
                    path, device=self._device, cache_dir=self._profile.paths.glove
                )
            except (CheckpointError, OSError) as exc:
                log.warning("model version %d is unusable: %s", version.id, exc)
                self._unusable.add(version.id)
                continue
            self._loaded = Loaded(
                version, model, VectorCache.load(cache_path(self._profile, version.id))
            )
            return self._loaded
        return None

    def _no_model_notice(self, *, explain: bool = False) -> str:
        """Why no model is in use: none trained yet, or every recorded one is damaged (a
        reader told "no model yet" after training would look for the wrong cause)."""
        with self._profile.db.read() as s:
            versions = events.list_model_versions(s)
        then = "nothing to explain" if explain else "showing Latest"
        if not versions or not self._load_models:
            if explain:
                return "there is no trained model yet, so nothing to explain"
            return "No model trained yet; showing Latest until the first training round."
        newest = checkpoint_path(self._profile, versions[-1])
        return (
            f"The model file {newest} is damaged or missing, and no earlier one can be used; "
            f"{then} until the next training round writes a new one."
        )

    def _texts(self, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(title, source) of each known article; the source is its feed, as the model sees it."""
        return article_texts(self._profile.db, ids)

    def _vectors_for(
        self,
        loaded: Loaded,
        ids: Sequence[int],
        texts: Mapping[int, tuple[str, str]] | None = None,
    ) -> FloatArray:
        """Vectors [len(ids), D] of these articles, encoding (and caching) the missing ones.

        ``texts`` gives (title, source) by id when the caller has them already.
        """
        self._encode_missing(loaded, ids, texts)
        rows = loaded.cache.rows(ids)
        if rows is None:
            raise RankingError("some articles are gone; refresh the view")
        return rows

    def _encode_missing(
        self,
        loaded: Loaded,
        ids: Sequence[int],
        texts: Mapping[int, tuple[str, str]] | None = None,
    ) -> None:
        """Encode and cache the articles among ``ids`` that have no vector yet."""
        missing = loaded.cache.missing(ids)
        if not missing:
            return
        if texts is None:
            texts = self._texts(missing)
        missing = [a for a in missing if a in texts]
        if missing:
            loaded.cache.add(missing, *encode(loaded.model, [texts[a] for a in missing]))
            if len(missing) >= TRIM_AFTER:
                forget_tokens()
                heap.trim()

    def _user_vector(
        self, loaded: Loaded
    ) -> tuple[FloatArray, list[int], dict[int, tuple[str, str]]]:
        """The reader vector u [D], the ids of the past reads it is built from (oldest first,
        at most HISTORY) and their (title, source)."""
        with self._profile.db.read() as s:
            history = [c.article_id for c in events.click_history(s)]
        recent = list(dict.fromkeys(reversed(history)))[:HISTORY][::-1]  # oldest first
        texts = self._texts(recent)
        recent = [a for a in recent if a in texts]
        vectors = self._vectors_for(loaded, recent, texts)
        return loaded.model.user_vector(vectors), recent, texts

    # -- the river -------------------------------------------------------------------------

    def river(
        self,
        *,
        ranked: bool,
        limit: int = 100,
        offset: int = 0,
        view: RiverFilter = UNREAD,
        after: PageKey | None = None,
    ) -> River:
        """A page of the river: newest first, or ordered by the model ("For you").

        The model reorders, never hides: every article of the plain view is in the ranked one.
        Articles matching a mute rule go to the bottom and are counted. ``after`` is the
        previous page's :attr:`River.next`: the view goes on in the order its first page set
        (``offset`` is then ignored), however many of its rows were marked read meanwhile.
        """
        if isinstance(after, RankKey):
            return self._ranked_page(after, limit)
        db = self._profile.db
        with db.read() as s:
            clicks = events.clicks_since(s, 0)
            opened = events.clicked_articles(s)  # the threshold counts distinct articles
            rules = mute.load_rules(s)
        needed = max(0, MIN_CLICKS - opened)
        filters = view.query()
        notice: str | None = None
        fallback: str | None = None  # the guard's line when no trained model earns its keep
        loaded: Loaded | None = None
        if ranked:
            if needed:
                notice = (
                    f"“For you” learns from the articles you open: {needed} more "
                    f"{'click' if needed == 1 else 'clicks'} on articles not opened yet to go. "
                    "Showing Latest until then."
                )
            elif after is None:  # a later page of Latest goes on in time order
                fallback = guard.notice(db)
                if guard.mode(db) == guard.LATEST:
                    notice = fallback
                else:
                    with self._lock:
                        loaded = self._current()
                    if loaded is None:
                        notice = self._no_model_notice()
        if loaded is None:
            mark = None if after is None else (after.time, after.id)
            with db.read() as s:
                page = articles.list_articles(
                    s, limit=limit, offset=0 if mark else offset, after=mark, **filters
                )
            items = tuple(RiverItem(a, None, mute.apply(rules, a.title)) for a in page)
            following = None
            if page and len(page) >= limit:
                following = TimeKey(articles.sort_time(page[-1]), page[-1].id)
            return River(
                items,
                "latest",
                notice,
                clicks,
                needed,
                sum(i.muted for i in items),
                next=following,
            )
        # A view is ranked once, when its first page is asked for; later pages of the same view
        # (same model, clicks, filters and rules) reuse that order instead of re-scoring.
        key = (loaded.version.id, clicks, tuple(sorted(filters.items())), tuple(rules))
        with self._lock:
            if offset == 0 or self._last_order is None or self._last_order[0] != key:
                self._last_order = (key, self._ranked_order(loaded, filters, rules))
            order, scores, muted = self._last_order[1]
        ranked_page = self._ranked_page(
            RankKey(order, scores, muted, max(0, offset)), limit, clicks
        )
        return dataclasses.replace(ranked_page, notice=fallback) if fallback else ranked_page

    def _ranked_page(self, key: RankKey, limit: int, clicks: int | None = None) -> River:
        """The page of a ranked snapshot at ``key`` (rows since purged are left out)."""
        chosen, page_scores, page_muted, following = key.page(limit)
        with self._profile.db.read() as s:
            if clicks is None:
                clicks = events.clicks_since(s, 0)
            records = {
                a.id: a
                for a in articles.list_articles(s, ids=chosen, limit=len(chosen), unread_only=False)
            }
        items = tuple(
            RiverItem(records[i], score, hidden)
            for i, score, hidden in zip(chosen, page_scores, page_muted, strict=True)
            if i in records
        )
        return River(items, "ranked", None, clicks, 0, int(key.muted.sum()), next=following)

    def _ranked_order(
        self, loaded: Loaded, filters: dict[str, Any], rules: Sequence[mute.Rule]
    ) -> _Order:
        """Every matching article id in "For you" order, their ranked scores, the muted ones."""
        with self._profile.db.read() as s:
            candidates = articles.list_candidates(s, **filters)
        if not candidates:
            return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.bool_)
        ids = np.asarray([c.id for c in candidates], np.int64)
        parts = self._ranked_scores(loaded, candidates)
        totals = np.asarray([p.total for p in parts], np.float64)  # [N]
        muted = np.asarray([mute.apply(rules, c.title) for c in candidates], bool)
        del candidates
        order = np.lexsort((-totals, muted))  # unmuted first, then by score
        return ids[order], totals[order], muted[order]

    # -- the one score ---------------------------------------------------------------------

    def _score_table(self, loaded: Loaded) -> ScoreTable:
        """The ranked scores of the unread river (For you's pool), which every view's scores
        are read from; recomputed when the model, the clicks or the pool change, or when it is
        TABLE_TTL old (freshness moves slowly), so views asked minutes apart agree."""
        with self._profile.db.read() as s:
            pool = articles.list_candidates(s, unread_only=True)
            clicks = events.clicks_since(s, 0)
        ids = np.asarray([c.id for c in pool], np.int64)
        key = (loaded.version.id, clicks, len(ids), hash(ids.tobytes()))
        now = _now()
        with self._lock:
            if self._table is not None and self._table[0] == key:
                then = self._table[1].now
                if then is not None and now - then < TABLE_TTL:
                    return self._table[1]
        user, history, _ = self._user_vector(loaded)
        click = self._click_of(loaded, pool, user)
        with self._profile.db.read() as s:
            read = articles.list_articles(s, ids=history, limit=len(history), unread_only=False)
        table = score_table(
            ids,
            click,
            ages_hours=_ages(pool, now),
            feeds=np.asarray([c.feed_id for c in pool], np.int64),
            opens=open_shares([a.feed_id for a in read]),
            now=now,
        )
        with self._lock:
            self._table = (key, table)
        return table

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
            ages = _ages(outside, table.now or _now())
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

    def shown_above(self, article_id: int, *, ranked: bool) -> list[int]:
        """The unread articles the river lists above ``article_id`` (for headless clicks)."""
        loaded = None
        if ranked:
            with self._profile.db.read() as s:
                enough = events.clicked_articles(s) >= MIN_CLICKS
                rules = mute.load_rules(s)
            if enough:
                with self._lock:
                    loaded = self._current()
        if loaded is None:
            with self._profile.db.read() as s:
                order = articles.unread_ids(s)
        else:
            with self._lock:
                order = self._ranked_order(loaded, {"unread_only": True}, rules)[0].tolist()
        return order[: order.index(article_id)] if article_id in order else []

    # -- training --------------------------------------------------------------------------

    def train(
        self,
        *,
        epochs: int | None = None,
        device: str | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainReport:
        """One training round (:func:`app.services.tuning.run_round`): fine-tune from the last
        checkpoint (or a warm start from the reader's own headlines), write the new checkpoint
        atomically, re-encode the articles, and rank by the new model from then on."""
        check_device(device or self._device)
        return run_round(
            self._profile,
            current=self._locked_current,
            install=self._install,
            epochs=epochs,
            device=device or self._device,
            progress=progress,
            should_stop=should_stop,
        )

    def _locked_current(self) -> Loaded | None:
        with self._lock:
            return self._current()

    def _install(self, loaded: Loaded) -> None:
        """Rank by a newly trained model from now on."""
        with self._lock:
            self._loaded = loaded

    def model_versions(self) -> list[ModelVersionRecord]:
        """Every training round so far, oldest first."""
        with self._profile.db.read() as s:
            return events.list_model_versions(s)

    def close(self) -> None:
        """Nothing to release in this process (a proxy stops its helper process here)."""

    # -- explanations ----------------------------------------------------------------------

    def explain(self, article_id: int) -> ArticleExplanation:
        """Exact decomposition of the ranked score of one article (the model's click score,
        freshness and feed spreading), with leave-one-out checks and the river's highlights."""
        with self._lock:
            loaded = self._current()
            if loaded is None:
                raise RankingError(self._no_model_notice(explain=True))
            with self._profile.db.read() as s:
                record = articles.get_article(s, article_id)
            if record is None:
                raise RankingError(f"there is no article {article_id}")
            _, history, past = self._user_vector(loaded)
            explanation = loaded.model.explain(
                record.title,
                [past[a][0] for a in history],
                source_of(record.feed_id),
                [past[a][1] for a in history],
            )
            when = articles.sort_time(record)
            candidate = Candidate(record.id, record.feed_id, record.title, when)
            ranked = self._ranked_scores(loaded, [candidate])[0]
            table = self._score_table(loaded)
        rule = highlight_rule(preference.load(self._profile.db))
        candidate_source = source_token(source_of(record.feed_id))
        return ArticleExplanation(
            article_id=article_id,
            title=record.title,
            score=float(explanation.score),
            words=tuple(
                WordShare(
                    f"from {record.feed_title}" if w.token == candidate_source else w.token,
                    float(w.attention),
                    float(w.share),
                    source=w.token == candidate_source,
                    bias=float(w.bias),
                )
                for w in explanation.words
            ),
            history=tuple(
                PastShare(
                    history[h.index],
                    past[history[h.index]][0],
                    float(h.attention),
                    float(h.share),
                )
                for h in explanation.history
            ),
            faithfulness_words=explanation.faithfulness_words,
            faithfulness_history=explanation.faithfulness_history,
            model_version=loaded.version.id,
            feed=FeedShare(record.feed_title, float(explanation.feed))
            if explanation.feed
            else None,
            lexical=float(explanation.lexical),
            freshness=ranked.freshness,
            spreading=ranked.spreading,
            above=ranked.above,
            allowance=ranked.allowance,
            median=table.median,
            base=float(getattr(explanation, "word_base", 0.0)),
            history_base=float(getattr(explanation, "history_base", 0.0)),
            age_hours=float(_ages([candidate], table.now or _now())[0]),
            ranked_score=ranked.total,
        ).with_highlights(rule)

    def word_shares(self, article_ids: Sequence[int]) -> dict[int, tuple[tuple[str, float], ...]]:
        """(token, signed share) of each title's own words, for highlighting (the feed's token,
        which the model reads first, is left out: it is no word of the title); {} without a
        model."""
        with self._lock:
            loaded = self._current()
            if loaded is None:
                return {}
            user, _, _ = self._user_vector(loaded)
            texts = self._texts(article_ids)
            kept = [a for a in article_ids if a in texts]
            shares = loaded.model.word_shares(
                [texts[a][0] for a in kept], user, [texts[a][1] for a in kept]
            )
        return {
            a: tuple((t, float(v)) for t, v in row if t != source_token(texts[a][1]))
            for a, row in zip(kept, shares, strict=True)
        }


def _ages(candidates: Sequence[Candidate], now: datetime) -> npt.NDArray[np.float64]:
    """Each article's age in hours at ``now`` [N]."""
    return np.asarray([(now - c.time).total_seconds() / 3600.0 for c in candidates], np.float64)


def check_device(device: str | None) -> None:
    """Refuse, in words, a device that cannot be used (``cuda`` on a machine without CUDA)
    before a training round loads anything."""
    if (device or "auto").strip().lower() in ("auto", "cpu"):
        return
    from nrms_core import resolve_device

    try:
        resolve_device(device)
    except (RuntimeError, ValueError) as exc:
        raise RankingError(f"cannot train on {device!r}: {exc}; use --device auto or cpu") from exc


def _click_scores(
    model: Recommender, raw: FloatArray, feeds: npt.NDArray[np.int64], lexical: FloatArray
) -> FloatArray:
    """The model's click scores (:func:`nrms_core.click.click_score`) [N] from raw scores
    uᵀr [N], the articles' feed ids [N] and their cached lexical biases [N]: the feed bias is
    looked up once per distinct feed."""
    distinct, inverse = np.unique(feeds, return_inverse=True)  # [F], [N]
    bias = model.source_bias([source_of(int(f)) for f in distinct])  # [F]
    return np.asarray(click_score(model.scale, raw, bias[inverse], lexical), dtype=np.float32)


__all__ = [
    "MIN_CLICKS",
    "ArticleExplanation",
    "FeedShare",
    "PastShare",
    "Ranker",
    "Ranking",
    "RankingError",
    "River",
    "RiverItem",
    "TrainProgress",
    "TrainReport",
    "WordShare",
    "encode",
    "file_sha256",
    "forget_tokens",
    "model_ready",
    "source_token",
]
