"""Ranking the river by the reader's model, training it on their clicks, and explaining it.

This module holds :class:`Ranker`: the river's pages (Latest, or "For you" ranked once per view
and paged from that order), training rounds and explanations. It builds on
:class:`app.services.scorer.Scorer` (the pool's score table and each article's ranked score),
which builds on :class:`app.services.loader.ModelLoader` (the newest usable checkpoint, the
article vectors and the reader vector). The training round itself is
:mod:`app.services.tuning`; checkpoint paths, encoding and :class:`RankingError` are in
:mod:`app.services.model`; the river records and the :class:`Ranking` protocol the window uses
are in :mod:`app.services.river`.

torch loads lazily: nothing here imports ``nrms_core`` modules that need it until a ranked view,
a training round or an explanation is asked for (or :meth:`Ranker.preload` runs in the
background), so the window appears first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from app.services import guard, mute, preference
from app.services.explanation import ArticleExplanation, FeedShare, PastShare, WordShare
from app.services.highlight import TitleShares, highlight_rule
from app.services.model import (
    MIN_CLICKS,
    Loaded,
    RankingError,
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
from app.services.scorer import TABLE_TTL, Scorer, hours_old
from app.services.training import TrainProgress, TrainReport, source_of
from app.services.tuning import run_round
from app.storage import articles, events
from app.storage.record import Candidate, ModelVersionRecord

_Order = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]
"""Ranked ids, their ranked scores and whether each is muted, all in "For you" order."""


def _now() -> datetime:
    """The moment scores are computed for, to the minute: two views (or two commands) asked
    within the same minute show the same freshness, hence the same score."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


class Ranker(Scorer):
    """The reader's model in use: loads the newest checkpoint, caches article vectors per model
    version, ranks, trains and explains. Thread-safe; share one per profile."""

    def __init__(
        self,
        profile: Profile,
        *,
        device: str | None = None,
        load_models: bool = True,
        progressive: bool = False,
    ) -> None:
        """``load_models=False`` makes a ranker that never loads a model (nor torch): it serves
        Latest and the "For you" notices, for a process that leaves the model to a helper.
        ``progressive`` ranks a large pool of new articles newest first, a slice per first page
        of For you (:attr:`River.unranked` counts the rest): the window's model host, which
        asks again until none is left; a command ranks the whole pool at once."""
        # The clock looks _now up at each call, so that replacing it (as tests do to hold
        # freshness at one moment) reaches the scores.
        super().__init__(
            profile,
            device=device,
            load_models=load_models,
            clock=lambda: _now(),
            progressive=progressive,
        )
        self._last_order: tuple[Hashable, _Order] | None = None

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
        # (same model, history, filters and rules) reuse that order instead of re-scoring.
        key = (loaded.version.id, self._history(), tuple(sorted(filters.items())), tuple(rules))
        with self._lock:
            if offset == 0 or self._last_order is None or self._last_order[0] != key:
                ordered = self._ranked_order(loaded, filters, rules, advance=offset == 0)
                self._last_order = (key, ordered)
            order, scores, muted = self._last_order[1]
            table = self._table[1] if self._table is not None else None
            pool = filters == UNREAD.query()
            unranked = len(table.unranked) if table is not None and pool else 0
        ranked_page = self._ranked_page(
            RankKey(order, scores, muted, max(0, offset), unranked), limit, clicks
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
        return River(
            items,
            "ranked",
            None,
            clicks,
            0,
            int(key.muted.sum()),
            next=following,
            unranked=key.unranked,
        )

    def _ranked_order(
        self,
        loaded: Loaded,
        filters: dict[str, Any],
        rules: Sequence[mute.Rule],
        *,
        advance: bool = False,
    ) -> _Order:
        """Every matching article id in "For you" order, their ranked scores, the muted ones.

        For you itself (every unread article, no mute rule) is read straight off the score
        table, which holds that pool in the same order, so a click reorders it without the pool
        being listed again (:meth:`Scorer._score_table`). ``advance``: For you's first page
        takes in the next slice of a pool that is being ranked progressively; until it is
        whole, the articles not ranked yet are left out of For you (and counted)."""
        pool = filters == UNREAD.query()  # For you's pool: every unread article
        table = self._score_table(loaded, advance=advance and pool)
        if not rules and pool:
            totals = table.total  # [N]
            none = np.zeros(len(totals), np.bool_)
            order = np.lexsort((-totals, none))
            return table.ids[order], totals[order], none
        with self._profile.db.read() as s:
            candidates = articles.list_candidates(s, **filters)
        if pool and len(table.unranked):  # not ranked yet: they join For you when they are
            waiting = set(table.unranked.tolist())
            candidates = [c for c in candidates if c.id not in waiting]
        if not candidates:
            return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.bool_)
        ids = np.asarray([c.id for c in candidates], np.int64)
        parts = self._ranked_scores(loaded, candidates)
        totals = np.asarray([p.total for p in parts], np.float64)  # [N]
        muted = np.asarray([mute.apply(rules, c.title) for c in candidates], bool)
        del candidates
        order = np.lexsort((-totals, muted))  # unmuted first, then by score
        return ids[order], totals[order], muted[order]

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
            exploring=ranked.exploring,
            feed_title=record.feed_title,
            median=table.median,
            base=float(getattr(explanation, "word_base", 0.0)),
            history_base=float(getattr(explanation, "history_base", 0.0)),
            age_hours=float(hours_old([candidate], table.now or _now())[0]),
            ranked_score=ranked.total,
        ).with_highlights(rule)

    def word_shares(self, article_ids: Sequence[int]) -> dict[int, TitleShares]:
        """Each title's own words with their signed shares, and its feed's share (the feed's
        bias and the share of the feed's token, which the model reads first: no word of the
        title), for highlighting; {} without a model."""
        with self._lock:
            loaded = self._current()
            if loaded is None:
                return {}
            user, _, _ = self._user_vector(loaded)
            texts = self._texts(article_ids)
            kept = [a for a in article_ids if a in texts]
            sources = [texts[a][1] for a in kept]
            shares = loaded.model.word_shares([texts[a][0] for a in kept], user, sources)
            biases = loaded.model.source_bias(sources)  # [N]
        out: dict[int, TitleShares] = {}
        for a, row, bias in zip(kept, shares, biases, strict=True):
            token = source_token(texts[a][1])
            words = tuple((t, float(v)) for t, v in row if t != token)
            feed = float(bias) + sum(float(v) for t, v in row if t == token)
            out[a] = TitleShares(words, feed)
        return out


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


__all__ = [
    "MIN_CLICKS",
    "TABLE_TTL",
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
