"""The click biases of a Recommender: fitting, on the reader's sessions, a scale ``a`` for
uᵀr, one bias ``b`` per source and one bias ``v`` per title word (:mod:`nrms_core.bias`), and
measuring the click score (:mod:`nrms_core.click`) they make on held-out clicks.

A fine-tuning round ends with this fit, on uᵀr cross-fitted there (each click scored by a
model that did not train on it; :mod:`nrms_core.rounds`). The feed's bias is how often the
reader opens a feed beyond what its titles say, a word's how often they open titles that
carry it; in explanations the feed has its own exact share and each word's bias is part of
that word's.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from nrms_core.bias import BiasFit, Group, click_scores, fit_bias
from nrms_core.inference import Inference
from nrms_core.metrics import auc
from nrms_core.prior import WORD_LIMIT, PriorFit, choose_word_ease, feed_signal, fit_prior
from nrms_core.sampling import Sample
from nrms_core.tokenizer import content_words, tokenize
from nrms_core.trainer import holdout_split
from nrms_core.vocab import UNK

__all__ = ["PRIOR_ARTICLES", "Calibration"]

PRIOR_ARTICLES = 20_000
"""The most recently shown articles the exposure prior is fitted on."""

FEED_SIGNAL = 0.35
"""Below this :func:`nrms_core.prior.feed_signal` the reader's feeds count as noise. In the
session benchmark (seeds 0 and 1) every feed reader's rounds came out at 0.44 or more, the
topic readers' at 0.54 or more but one at 0.32, and 10 of the keyword readers' 13 at
0.14-0.33 (the others at 0.37-0.46, left as they are); in simulation a keyword reader's at
0.10-0.27, a feed reader's at 3.6-4.0. Set from those runs, then checked on a third seed
(docs/benchmarks/session.md)."""

FEED_HOLD = 25.0
"""How much harder the feed biases are pulled to 0 for a reader whose feeds, on every
article shown, say no more than their noise (:data:`FEED_SIGNAL`). Why: with a keyword in
every title they open, which of a search's (or For you's) results they happen to open gives
feeds biases of 2-3 from 10-20 opens, which drown the words that alone rank their day."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Priors:
    """Where a model's click-bias fits start from: the feed and word priors and the penalties
    :meth:`Calibration.fit_priors` chose with them. A round is judged with priors fitted
    without its held-out clicks and published with priors over all of them."""

    feeds: dict[str, float]
    words: dict[str, float]
    word_ease: float
    feed_hold: float


class Calibration(Inference):
    """The click-bias side of :class:`nrms_core.recommender.Recommender` (a base class, never
    built alone)."""

    feed_prior: dict[str, float]
    """Where the click-bias fit pulls each source's bias (0 for any not given): what the
    reader's opens say about each feed beyond the groups (see :func:`fit_bias`)."""

    word_prior: dict[str, float]
    """Where the fit pulls each title word's bias (0 for any not given; keys as
    :meth:`title_words` gives them): what the reader's opens say about titles carrying the
    word on every screen, which the groups of one screen cannot say when every row of it
    carries the word (a search)."""

    word_ease: float
    feed_hold: float
    """The multiple of ``config.bias_l2`` that pulls the feed biases to 0 in the prior and the
    bias fits (1 until :meth:`fit_priors` finds the reader's feeds no more than noise, then
    :data:`FEED_HOLD`)."""
    """The multiple of ``config.word_linear`` the bias fits use (1 until :meth:`fit_priors`
    chooses one for the reader; see :func:`nrms_core.prior.choose_word_ease`)."""

    def bias_penalties(self) -> dict[str, float]:
        """The click-bias fit's penalties (``config.bias_penalties`` with the word slope
        eased by :attr:`word_ease` and the feeds' pull held by :attr:`feed_hold`), as
        :func:`nrms_core.bias.fit_bias` takes them."""
        penalties = self.config.bias_penalties()
        penalties["word_linear"] *= self.word_ease
        penalties["l2"] *= self.feed_hold
        return penalties

    def title_words(self, title: str) -> list[str]:
        """The words of ``title`` that carry a word bias (its distinct content words)."""
        return content_words(tokenize(title, self.config.max_title))

    def fit_priors(
        self,
        shown: Iterable[int],
        opened: Collection[int],
        titles: Mapping[int, str],
        sources: Mapping[int, str],
        *,
        penalties_of: Priors | None = None,
    ) -> PriorFit:
        """Set :attr:`feed_prior` and :attr:`word_prior` from every article the reader was
        shown on any screen (``shown``, opened ones included) and which of them they opened
        (:func:`nrms_core.prior.fit_prior`, with this model's bias penalties, the word
        penalty eased as cross-validation on these articles chooses: :attr:`word_ease`, which
        the round's bias fits then use too; and the feeds held near 0 when their fitted biases
        stand no higher than their own noise: :attr:`feed_hold`, for those fits too). Untitled
        articles are left out; without ``config.word_bias`` the words get no prior. Only the
        last :data:`PRIOR_ARTICLES` of ``shown`` (in the order given: oldest first) count, so
        that a year of reading does not make every round slower (100,000 articles take about
        10 s on one core; 20,000 about 2 s).

        ``penalties_of``: take the word ease and the feed hold of these priors instead of
        choosing them again, so that priors refitted on more of the same reader's log rank
        with the penalties they were judged with."""
        articles = [a for a in dict.fromkeys(shown) if a in titles][-PRIOR_ARTICLES:]
        feed_index: dict[str, int] = {}
        word_index: dict[str, int] = {}
        feeds: list[int] = []
        words: list[list[int]] = []
        for a in articles:
            source = sources.get(a)
            feeds.append(-1 if source is None else feed_index.setdefault(source, len(feed_index)))
            content = self.title_words(titles[a]) if self.config.word_bias else []
            words.append([word_index.setdefault(w, len(word_index)) for w in content])
        penalties = self.config.bias_penalties()
        flags = [a in opened for a in articles]
        l2, word_l2, linear = penalties["l2"], penalties["word_l2"], penalties["word_linear"]
        n_feeds, n_words = len(feed_index), len(word_index)
        if penalties_of is not None:
            self.word_ease = penalties_of.word_ease
        elif self.config.word_bias:
            self.word_ease = choose_word_ease(
                feeds, words, flags, n_feeds, n_words, l2=l2, word_l2=word_l2, word_linear=linear
            )
        else:
            self.word_ease = 1.0

        def fitted(hold: float) -> PriorFit:  # the prior under this reader's word penalty
            return fit_prior(
                feeds,
                words,
                flags,
                n_feeds,
                n_words,
                l2=l2 * hold,
                word_l2=word_l2,
                word_linear=linear * self.word_ease,
                word_limit=WORD_LIMIT / self.word_ease,
            )

        if penalties_of is not None:
            self.feed_hold = penalties_of.feed_hold
            fit = fitted(self.feed_hold)
        else:
            fit = fitted(1.0)
            signal = feed_signal(fit, feeds, words, l2=l2)
            self.feed_hold = FEED_HOLD if self.config.word_bias and signal < FEED_SIGNAL else 1.0
            logger.info("feed signal %.2f: feed pull x%g", signal, self.feed_hold)
            if self.feed_hold != 1.0:
                fit = fitted(self.feed_hold)
        self.feed_prior = {s: float(fit.bias[i]) for s, i in feed_index.items()}
        self.word_prior = {w: float(fit.words[i]) for w, i in word_index.items() if fit.words[i]}
        return fit

    def priors(self) -> Priors:
        """What :meth:`fit_priors` set, to be handed to another model or set back later."""
        return Priors(dict(self.feed_prior), dict(self.word_prior), self.word_ease, self.feed_hold)

    def use_priors(self, priors: Priors) -> None:
        """Make the bias fits start from ``priors`` (as :meth:`fit_priors` would have set)."""
        self.feed_prior, self.word_prior = dict(priors.feeds), dict(priors.words)
        self.word_ease, self.feed_hold = priors.word_ease, priors.feed_hold

    @contextmanager
    def priors_held(self, priors: Priors) -> Iterator[None]:
        """Fit from ``priors`` inside the block (a round's held-out measure, with the priors
        that never saw those clicks), then from the ones set before it again."""
        kept = self.priors()
        self.use_priors(priors)
        try:
            yield
        finally:
            self.use_priors(kept)

    @staticmethod
    def _bias_groups(groups: Sequence[Sample], titles: Mapping[int, str]) -> list[Sample]:
        """The groups a click bias can be fitted on: a click and something skipped, all titled."""
        return [
            g for g in groups if len(g.candidates) > 1 and all(c in titles for c in g.candidates)
        ]

    def _raw_scores(
        self, groups: Sequence[Sample], titles: Mapping[int, str], sources: Mapping[int, str]
    ) -> list[np.ndarray]:
        """Each group's raw scores uᵀr [n] float64 under the model as it is now (groups from
        :meth:`_bias_groups`)."""
        needed = sorted({a for g in groups for a in (*g.history, *g.candidates) if a in titles})
        row = {a: i for i, a in enumerate(needed)}
        vectors = self.encode([titles[a] for a in needed], [sources.get(a) for a in needed])
        users: dict[tuple[int, ...], np.ndarray] = {}
        out: list[np.ndarray] = []
        for g in groups:
            history = tuple(h for h in g.history if h in row)[-self.config.max_history :]
            if history not in users:
                users[history] = self.user_vector(vectors[[row[h] for h in history]])
            raw = vectors[[row[c] for c in g.candidates]] @ users[history]  # [n]
            out.append(raw.astype(np.float64))
        return out

    def _bias_index(
        self, groups: Sequence[Sample], titles: Mapping[int, str], sources: Mapping[int, str]
    ) -> _BiasIndex:
        """Feed and word indices of every candidate of the groups, for :func:`fit_bias`."""
        feed_of: dict[int, int] = {}  # vocabulary row of a source token -> feed index
        word_of: dict[int, int] = {}  # vocabulary row of a content word -> word index
        feeds: dict[int, int] = {}  # article -> feed index, -1: none
        words: dict[int, np.ndarray] = {}  # article -> its word indices
        for a in sorted({c for g in groups for c in g.candidates}):
            source_row = self._source_row(sources.get(a))
            feeds[a] = -1 if source_row is None else feed_of.setdefault(source_row, len(feed_of))
            content = self.title_words(titles[a])
            if not self.config.word_bias:
                content = []
            words[a] = np.asarray(  # a word the vocabulary could not take (-1) counts, no bias
                [
                    -1 if r == UNK else word_of.setdefault(r, len(word_of))
                    for r in self.vocab.ids(content)
                ],
                np.int64,
            )
        return _BiasIndex(feed_of, word_of, feeds, words)

    def _prior_rows(self) -> dict[int, float]:
        """:attr:`feed_prior` by the vocabulary row of each source's token."""
        rows: dict[int, float] = {}
        for source, value in self.feed_prior.items():
            row = self._source_row(source)
            if row is not None and np.isfinite(value):
                rows[row] = float(value)
        return rows

    def _word_prior_rows(self) -> dict[int, float]:
        """:attr:`word_prior` by the vocabulary row of each word (words the vocabulary lacks,
        and all of them without ``config.word_bias``, are left out)."""
        if not self.config.word_bias:
            return {}
        words = [w for w, v in self.word_prior.items() if w in self.vocab and np.isfinite(v)]
        return {
            row: float(self.word_prior[w])
            for w, row in zip(words, self.vocab.ids(words), strict=True)
            if row != UNK
        }

    def _fit_bias(self, groups: Sequence[Group], index: _BiasIndex) -> BiasFit:
        by_row = self._prior_rows()
        prior = np.zeros(len(index.feed_of))
        for row, at in index.feed_of.items():
            prior[at] = by_row.get(row, 0.0)
        by_word = self._word_prior_rows()
        word_prior = np.zeros(len(index.word_of))
        for row, at in index.word_of.items():
            word_prior[at] = by_word.get(row, 0.0)
        return fit_bias(
            groups,
            len(index.feed_of),
            len(index.word_of),
            prior=prior,
            word_prior=word_prior,
            **self.bias_penalties(),
        )

    def fit_bias(
        self,
        groups: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
        *,
        scores: Sequence[np.ndarray] | None = None,
    ) -> BiasFit:
        """Fit the score's scale, per-feed and per-word biases (see :mod:`nrms_core.bias`)
        and keep them.

        Each group is one click: ``candidates[0]`` the clicked article, the rest what was
        shown and skipped beside it (all of it, not K), ``history`` the clicks before.
        Groups with an untitled candidate are skipped. The groups' words and sources join
        the vocabulary first, so each gets its bias. The model's weights are not changed,
        only ``a``, ``b`` and ``v`` (``v`` stays 0 without ``config.word_bias``).

        ``scores``: each usable group's raw scores uᵀr [n] from elsewhere (cross-fitted
        models, see :meth:`fine_tune`), in the order of the usable groups; None scores them
        with this model.
        """
        src = sources or {}
        usable = self._bias_groups(groups, titles)
        if scores is not None and len(scores) != len(usable):
            raise ValueError("scores must give one array per usable group")
        needed = sorted({a for g in usable for a in (*g.history, *g.candidates) if a in titles})
        self.add_titles((titles[a] for a in needed), (src.get(a) for a in needed))
        index = self._bias_index(usable, titles, src)
        raw = self._raw_scores(usable, titles, src) if scores is None else scores
        fit = self._fit_bias(index.groups(usable, raw), index)
        feed_of, word_of = index.feed_of, index.word_of
        with torch.no_grad():
            table = torch.zeros_like(self._model.source_bias)  # [V]
            for row, value in self._prior_rows().items():  # feeds no group saw: their prior
                table[row] = value
            if feed_of:
                at = torch.tensor(list(feed_of), dtype=torch.long, device=table.device)
                table[at] = torch.from_numpy(fit.bias[list(feed_of.values())]).to(table)
            self._model.source_bias.copy_(table)
            words = torch.zeros_like(self._model.word_bias)  # [V]
            for row, value in self._word_prior_rows().items():  # words no group saw: prior
                words[row] = value
            if word_of:
                at = torch.tensor(list(word_of), dtype=torch.long, device=words.device)
                words[at] = torch.from_numpy(fit.words[list(word_of.values())]).to(words)
            self._model.word_bias.copy_(words)
            self._model.score_scale.fill_(fit.scale)
        logger.info(
            "click bias: scale %.3f, %d feeds (|b| up to %.3f), %d words (|v| up to %.3f), "
            "from %d clicks",
            fit.scale,
            len(feed_of),
            float(np.abs(fit.bias).max(initial=0.0)),
            len(word_of),
            float(np.abs(fit.words).max(initial=0.0)),
            fit.clicks,
        )
        return fit

    def pin_biases(
        self,
        *,
        feeds: Mapping[str, tuple[float | None, float | None]] | None = None,
        words_off: Iterable[str] = (),
    ) -> int:
        """Hold biases where the reader said so; returns how many were moved.

        ``feeds`` maps a source to a (floor, ceiling) for its bias ``b`` ("more from this
        feed" sets a floor, "fewer" a ceiling; None: no bound); each word of ``words_off``
        (a lower-case title word) gets ``v = 0``, so it no longer moves any score through
        its bias. Sources and words the vocabulary lacks are skipped. Called after
        :meth:`fit_bias`, so the fit itself sees the reader's clicks unaltered, and the pins
        stay exact shares of the click score.
        """
        moved = 0
        with torch.no_grad():
            for source, (floor, ceiling) in (feeds or {}).items():
                row = self._source_row(source)
                if row is None:
                    continue
                value = float(self._model.source_bias[row])
                pinned = value
                if floor is not None:
                    pinned = max(pinned, floor)
                if ceiling is not None:
                    pinned = min(pinned, ceiling)
                if pinned != value:
                    self._model.source_bias[row] = pinned
                    moved += 1
            words = [w for w in dict.fromkeys(words_off) if w in self.vocab]
            for row in self.vocab.ids(words):
                if row != UNK and float(self._model.word_bias[row]) != 0.0:
                    self._model.word_bias[row] = 0.0
                    moved += 1
        return moved

    def _usable(self, samples: Sequence[Sample], titles: Mapping[int, str]) -> list[Sample]:
        """The samples :meth:`fine_tune` trains on: every candidate titled, the history's
        untitled ids dropped and cut to the last ``max_history``."""
        usable: list[Sample] = []
        for sample in samples:
            if not all(c in titles for c in sample.candidates):
                continue
            history = tuple(h for h in sample.history if h in titles)[-self.config.max_history :]
            usable.append(Sample(history, sample.candidates))
        return usable

    def held_out_samples(
        self, samples: Sequence[Sample], titles: Mapping[int, str], *, holdout: float
    ) -> list[Sample]:
        """The held-out clicks a round is judged on (the latest ``holdout`` share of the usable
        samples, each with something skipped beside it), in the order of the per-click AUCs of
        :meth:`held_out_click_aucs` and ``TrainResult.holdout_click_aucs``."""
        _, held = holdout_split(self._usable(samples, titles), holdout)
        return [s for s in held if len(s.candidates) > 1]

    def held_out_click_aucs(
        self,
        samples: Sequence[Sample],
        groups: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
        *,
        holdout: float,
        bias_only: bool = False,
    ) -> list[float]:
        """The AUC of each held-out click (:meth:`held_out_samples`) under this model's click
        score, measured exactly as :meth:`fine_tune` measures a round: uᵀr from this model's
        weights as they are (nothing is trained), the scale and the feed and word biases
        fitted on the sessions before the held-out ones. So the model in use and a new round
        are compared on the same clicks by the same procedure.

        ``bias_only``: ClickBias as it ranks, the click score with uᵀr = 0 and the feed and
        word biases at the priors in use (:meth:`keep_bias_only`). The titles join the
        vocabulary first (as ranking does with new articles). [] when nothing is held out.
        """
        usable = self._usable(samples, titles)
        src = sources or {}
        fit_groups = self._bias_groups(groups, titles)
        every = {a for s in (*usable, *fit_groups) for a in (*s.history, *s.candidates)}
        order = sorted(a for a in every if a in titles)
        self.add_titles((titles[a] for a in order), (src.get(a) for a in order))
        return self._held_out_aucs(usable, fit_groups, holdout, titles, src, bias_only=bias_only)

    def keep_bias_only(self) -> BiasFit:
        """Make this model's click score ClickBias: the feed and word biases at their priors
        (what the reader's opens say across every screen they were shown, see
        :meth:`fit_priors`), and the scale ``a`` 0, so that the score (and its explanation)
        is the biases alone. For a reader on whom no trained model has shown it does better.

        Why the priors and not a fit on ``groups`` with uᵀr taken as 0: the groups compare a
        click with the rows beside it on its own screen, and without the network's part they
        can only move the biases by what sets those rows apart, which on a search's screen (the
        word searched for in every row) or a feed's view is not what ranks the whole river. In
        the session benchmark, ranking by the priors gave For you AUC 0.906 against 0.896 and
        nDCG@10 0.865 against 0.821 on 36 search-driven reader-days, and held or gained on the
        other patterns (bursts 0.902 → 0.912, nDCG@10 0.883 → 0.929)."""
        fit = self.fit_bias([], {})
        with torch.no_grad():
            self._model.score_scale.fill_(0.0)
        return fit

    def _held_out_aucs(
        self,
        samples: Sequence[Sample],
        groups: Sequence[Sample],
        holdout: float,
        titles: Mapping[int, str],
        sources: Mapping[int, str],
        *,
        bias_only: bool = False,
    ) -> list[float]:
        """AUC of the click score on each held-out sample: biases fitted on the sessions of
        the other clicks, everything scored by the model as it is now (uᵀr = 0 with
        ``bias_only``)."""
        _, held = holdout_split(samples, holdout)
        train, _ = holdout_split(groups, holdout)
        held = [s for s in held if len(s.candidates) > 1]
        if not held or not train:
            return []
        index = self._bias_index([*train, *held], titles, sources)
        if bias_only:  # as ClickBias ranks: the priors alone (see keep_bias_only)
            raw = [np.zeros(len(g.candidates)) for g in (*train, *held)]
            fit = self._fit_bias([], index)
        else:
            raw = self._raw_scores([*train, *held], titles, sources)  # one encode for both
            fit = self._fit_bias(index.groups(train, raw[: len(train)]), index)
        scores = click_scores(index.groups(held, raw[len(train) :]), fit)
        return [float(auc([1] + [0] * (len(z) - 1), z)) for z in scores]


@dataclass(frozen=True)
class _BiasIndex:
    """Where each candidate's feed and words sit in a click-bias fit."""

    feed_of: dict[int, int]  # vocabulary row of a source token -> feed index
    word_of: dict[int, int]  # vocabulary row of a content word -> word index
    feeds: dict[int, int]  # article -> its feed index (-1: none)
    words: dict[int, np.ndarray]  # article -> its word indices (-1: a word without a row)

    def groups(self, samples: Sequence[Sample], scores: Sequence[np.ndarray]) -> list[Group]:
        """The samples as fit groups, with these raw scores [n] each."""
        return [
            Group(
                raw,
                np.asarray([self.feeds[c] for c in g.candidates], np.int64),
                tuple(self.words[c] for c in g.candidates),
            )
            for g, raw in zip(samples, scores, strict=True)
        ]
