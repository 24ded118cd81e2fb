"""Training rounds of a Recommender: the warm start on the reader's own headlines (feeds as
pseudo-users) before any click, and fine-tuning on their clicks, which ends by fitting the
click biases (:mod:`nrms_core.calibration`) on cross-fitted scores."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from nrms_core import budget
from nrms_core.calibration import Calibration
from nrms_core.config import WARM_EPOCHS, WARM_SAMPLES
from nrms_core.sampling import Sample
from nrms_core.trainer import Progress, Trainer, TrainResult

__all__ = ["ProgressCallback", "Rounds", "StopCallback"]

logger = logging.getLogger(__name__)

_REPEATS = 4
ProgressCallback = Callable[[Progress], None]
StopCallback = Callable[[], bool]


class Rounds(Calibration):
    """The training side of :class:`nrms_core.recommender.Recommender` (a base class, never
    built alone)."""

    def _trainer(
        self,
        titles: Mapping[int, Sequence[int]],
        *,
        lr: float,
        epochs: int,
        batch_size: int,
        holdout: float,
        anchor_decay: float,
        progress: ProgressCallback | None,
        should_stop: StopCallback | None,
        seed: int,
        on_selected: Callable[[], None] | None = None,
    ) -> Trainer:
        rows = ~self._pretrained if self.config.freeze_pretrained else None
        return Trainer(
            self._model,
            titles,
            device=self._device,
            lr=lr,
            epochs=epochs,
            batch_size=batch_size,
            holdout=holdout,
            patience=self.config.patience,
            embed_lr_scale=self.config.embed_lr_scale,
            trainable_rows=rows,
            fast_rows=self._source_rows(),
            fast_lr_scale=self.config.source_lr_scale,
            anchor_decay=anchor_decay,
            weight_decay=self.config.weight_decay,
            monitor="auc" if self.config.select_by_auc else "loss",
            keep_start=self.config.keep_start,
            refit=self.config.refit,
            refit_passes=budget.REFIT_PASSES,
            seed=seed,
            on_batch_end=progress,
            should_stop=should_stop,
            on_selected=on_selected,
        )

    def warm_start(
        self,
        titles: Sequence[str],
        groups: Sequence[str],
        *,
        epochs: int = WARM_EPOCHS,
        negatives: int | None = None,
        history: int = 20,
        max_samples: int = WARM_SAMPLES,
        lr: float | None = None,
        batch_size: int = 32,
        holdout: float = 0.1,
        source_rate: float = 0.5,
        progress: ProgressCallback | None = None,
        should_stop: StopCallback | None = None,
        seed: int = 0,
    ) -> TrainResult:
        """Self-supervised start without clicks: the feed (``groups[i]``) is the label.

        A pseudo-user is a feed: its history is other titles of the feed, the
        positive a held-out title of the feed, the negatives titles of other
        feeds. Every feed gives about the same number of samples, so busy
        feeds do not dominate. Needs at least two groups with two titles.

        The groups are also the titles' sources: each title of each sample
        carries its source token with probability ``source_rate`` (0: never,
        titles only). Always showing it would let the token alone solve the
        task and teach nothing about words; showing it sometimes ties each
        source token to its feed's words.
        """
        if len(titles) != len(groups):
            raise ValueError("titles and groups differ in length")
        if not 0.0 <= source_rate <= 1.0:
            raise ValueError("source_rate must be in [0, 1]")
        self.add_titles(titles, groups if source_rate > 0 else None)
        ids = {i: self._ids(t) for i, t in enumerate(titles)}
        n = len(titles)
        if source_rate > 0:
            ids.update({n + i: self._ids(titles[i], groups[i]) for i in range(n)})
        samples = _pseudo_samples(
            groups,
            negatives=negatives or self.config.negatives,
            history=min(history, self.config.max_history),
            max_samples=max_samples,
            holdout=holdout,
            seed=seed,
        )
        if source_rate > 0:
            pick = random.Random(seed + 1)

            def variant(article: int) -> int:
                return article + n if pick.random() < source_rate else article

            samples = [
                Sample(tuple(map(variant, s.history)), tuple(map(variant, s.candidates)))
                for s in samples
            ]
        trainer = self._trainer(
            ids,
            lr=lr or self.config.lr,
            epochs=epochs,
            batch_size=batch_size,
            holdout=holdout,
            anchor_decay=0.0,
            progress=progress,
            should_stop=should_stop,
            seed=seed,
        )
        return trainer.fit(samples)

    def fine_tune(
        self,
        samples: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
        *,
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int = 32,
        holdout: float = 0.15,
        sessions: Sequence[Sample] | None = None,
        progress: ProgressCallback | None = None,
        should_stop: StopCallback | None = None,
        seed: int = 0,
        refit_priors: Callable[[], object] | None = None,
    ) -> TrainResult:
        """Fine-tune on one reader's samples (chronological), titles by article id.

        With ``config.feed_bias`` a round that was not cancelled ends by fitting the click
        biases (:meth:`fit_bias`) on ``sessions`` (each click against everything skipped
        beside it; None: the samples themselves), and measures the click score on the
        held-out samples as the trainer measures uᵀr: with the weights the holdout chose and
        biases fitted on the other sessions (``holdout_click_auc`` of the result; there the
        scale is fitted on the selection model's own scores, not cross-fitted). With
        ``config.cross_fit`` folds (2 or more), the biases are fitted on uᵀr cross-fitted
        by :meth:`_cross_fitted_scores`, about one more pass over the samples; stopping
        during it cancels the round. ``refit_priors`` runs after the held-out measure and
        before the final bias fit: the priors the round is judged with must not know the
        held-out clicks, but the biases it ranks with should start from all of them (the
        newest clicks are often the reader's newest interest).

        ``sources`` maps article ids to their feed (an id without one has no
        source token). History ids without a title are dropped; samples with
        an untitled candidate are skipped. ``lr`` defaults to the config's ``fine_tune_lr``,
        ``epochs`` to ``fine_tune_epochs`` capped by the round's budget
        (:func:`nrms_core.budget.round_epochs`: a round of many samples runs fewer epochs,
        and resumes next time from these weights). The latest ``holdout`` share of samples
        drives early stopping; weights are pulled toward their starting values. The refit
        and the cross-fitting are bounded too (:mod:`nrms_core.budget`), so that a round's
        time stops growing with its samples.
        """
        usable = self._usable(samples, titles)
        needed = {a for s in usable for a in (*s.history, *s.candidates)}
        src = sources or {}
        groups = self._bias_groups(usable if sessions is None else sessions, titles)
        every = needed | {a for g in groups for a in (*g.history, *g.candidates)}
        order = sorted(a for a in every if a in titles)
        self.add_titles((titles[a] for a in order), (src.get(a) for a in order))  # no growth later
        ids = {a: self._ids(titles[a], src.get(a)) for a in needed}
        measured: list[list[float]] = []

        def on_selected() -> None:
            measured.append(self._held_out_aucs(usable, groups, holdout, titles, src))

        if len(usable) < len(samples):
            logger.warning("skipped %d samples with untitled articles", len(samples) - len(usable))
        trainer = self._trainer(
            ids,
            lr=lr or self.config.fine_tune_lr,
            epochs=budget.round_epochs(
                len(usable), self.config.fine_tune_epochs, passes=budget.ROUND_PASSES
            )
            if epochs is None
            else epochs,
            batch_size=batch_size,
            holdout=holdout,
            anchor_decay=self.config.anchor_decay,
            progress=progress,
            should_stop=should_stop,
            seed=seed,
            on_selected=on_selected if self.config.feed_bias else None,
        )
        cross_fit = self.config.feed_bias and self.config.cross_fit > 1
        start = _snapshot(self._model) if cross_fit else {}
        result = trainer.fit(usable)
        if self.config.feed_bias and not result.cancelled:
            scores = None
            if cross_fit:
                scores = self._cross_fitted_scores(
                    usable,
                    groups,
                    start,
                    ids,
                    titles,
                    src,
                    epochs=result.epochs_kept,
                    lr=lr or self.config.fine_tune_lr,
                    batch_size=batch_size,
                    should_stop=should_stop,
                    seed=seed,
                )
                if scores is None:
                    return dataclasses.replace(result, cancelled=True)
            if refit_priors is not None:
                refit_priors()
            self.fit_bias(groups, titles, sources, scores=scores)
            aucs = measured[0] if measured else []
            result = dataclasses.replace(
                result,
                holdout_click_auc=float(np.mean(aucs)) if aucs else None,
                holdout_click_aucs=tuple(aucs),
            )
        return result

    def _cross_fitted_scores(
        self,
        samples: Sequence[Sample],
        groups: Sequence[Sample],
        start: Mapping[str, torch.Tensor],
        ids: Mapping[int, Sequence[int]],
        titles: Mapping[int, str],
        sources: Mapping[int, str],
        *,
        epochs: int,
        lr: float,
        batch_size: int,
        should_stop: StopCallback | None,
        seed: int,
    ) -> list[np.ndarray] | None:
        """Each group's raw scores uᵀr [n] from a model that never trained on its click.

        The clicked articles are dealt into ``config.cross_fit`` folds; for each fold the
        model restarts from the round's ``start`` weights, trains as the round did (same
        anchor, rates and kept epoch count, no holdout) on the samples whose click lies in
        the other folds, and scores the fold's groups. The round's weights come back at the
        end. None when ``should_stop`` cancelled it. All folds together train on at most
        ``budget.CROSS_FIT_PASSES`` sample passes: past it each fold trains on a sample of its
        samples drawn evenly over time (:func:`nrms_core.budget.fold_sample`), never on a
        click it scores.

        Why: the round's own model has learned its training clicks, so on them uᵀr
        separates clicks from skips better than it will on tomorrow's articles, and a
        scale ``a`` fitted on those scores trusts it too much (most where the feed and the
        words already say what the reader wants). Fitted on scores from models that did not
        see the click, ``a`` measures what uᵀr adds out of sample.
        """
        trained = _snapshot(self._model)
        clicked = sorted({s.candidates[0] for s in (*samples, *groups)})
        random.Random(seed).shuffle(clicked)
        fold_of = {a: i % self.config.cross_fit for i, a in enumerate(clicked)}
        scores: dict[int, np.ndarray] = {}
        try:
            for fold in range(self.config.cross_fit):
                here = [i for i, g in enumerate(groups) if fold_of[g.candidates[0]] == fold]
                if not here:
                    continue
                self._model.load_state_dict(start)
                rest = budget.fold_sample(
                    [s for s in samples if fold_of[s.candidates[0]] != fold],
                    folds=self.config.cross_fit,
                    epochs=epochs,
                    passes=budget.CROSS_FIT_PASSES,
                    seed=seed + 1 + fold,
                )
                if rest and epochs > 0:
                    trainer = self._trainer(
                        ids,
                        lr=lr,
                        epochs=epochs,
                        batch_size=batch_size,
                        holdout=0.0,
                        anchor_decay=self.config.anchor_decay,
                        progress=None,
                        should_stop=should_stop,
                        seed=seed + 1 + fold,
                    )
                    if trainer.fit(rest).cancelled:
                        return None
                raw = self._raw_scores([groups[i] for i in here], titles, sources)
                for i, values in zip(here, raw, strict=True):
                    scores[i] = values
        finally:
            self._model.load_state_dict(trained)
            self._model.eval()
        logger.info("cross-fitted the click scores over %d folds", self.config.cross_fit)
        return [scores[i] for i in range(len(groups))]


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights and buffers, to load back later."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _pseudo_samples(
    groups: Sequence[str],
    *,
    negatives: int,
    history: int,
    max_samples: int,
    holdout: float,
    seed: int,
) -> list[Sample]:
    """Feed-as-user samples over title indices.

    Each feed gives up to ``max_samples / feeds`` samples; a small feed uses
    each title as the positive up to ``_REPEATS`` times, with fresh histories
    and negatives, so small profiles still get enough training steps.

    The last ``holdout`` share is a random draw (the trainer holds out the
    tail); the rest is ordered feed by feed, so that the trainer's batches of
    neighbouring samples share titles.
    """
    rng = random.Random(seed)
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    usable = {g: m for g, m in members.items() if len(m) >= 2}
    if not usable or len(members) < 2:
        return []
    per_group = max(1, max_samples // len(usable))
    samples: list[tuple[int, Sample]] = []
    for rank, (group, items) in enumerate(usable.items()):
        others = [i for g, m in members.items() if g != group for i in m]
        shuffled = rng.sample(items, len(items))
        count = min(per_group, _REPEATS * len(items))
        for positive in (shuffled[k % len(items)] for k in range(count)):
            rest = [i for i in items if i != positive]
            past = rng.sample(rest, min(history, len(rest)))
            negs = [rng.choice(others) for _ in range(negatives)]
            samples.append((rank, Sample(tuple(past), (positive, *negs))))
    rng.shuffle(samples)
    cut = len(samples) - round(len(samples) * holdout)
    order = list(range(len(usable)))
    rng.shuffle(order)
    head = sorted(samples[:cut], key=lambda item: order[item[0]])
    return [sample for _, sample in head + samples[cut:]]
