"""A round's budget (issue 19): what one training round learns from, so that its time does
not grow with the reader's whole history.

A round resumes from the previous round's weights, so it need not see every click again: it
takes the newest clicks all in (what the last rounds have not learned yet, and the held-out
tail the round is judged on) plus a replay sample of the older ones, stratified over time
(one drawn at random from each of equal stretches of the older clicks) and drawn afresh each
round (the seed changes with the log), so that over rounds every old click comes back. The
same bound applies to the sessions the click biases are fitted on. Profiles under the budget
train exactly as before.

:func:`round_epochs` caps a round's samples x epochs (``ROUND_PASSES``), and the two phases
that used to train again from the start are bounded too: the refit after the holdout has
chosen (``REFIT_PASSES``, :class:`nrms_core.trainer.Trainer`) and the cross-fitting of the
click biases' scores (``CROSS_FIT_PASSES``, :func:`fold_sample`). A round of a few hundred
clicks trains as before; from a thousand on its time no longer grows with the clicks
(``docs/benchmarks/rounds.md`` has the figures and the quality check).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = [
    "CROSS_FIT_PASSES",
    "RECENT_SAMPLES",
    "REFIT_PASSES",
    "ROUND_PASSES",
    "ROUND_SAMPLES",
    "RUN",
    "bounded",
    "fold_sample",
    "round_epochs",
    "spread",
]

_T = TypeVar("_T")

ROUND_SAMPLES = 2_000
"""The most samples (and bias-fit sessions) one round uses."""
RECENT_SAMPLES = 1_000
"""Of those, the newest this many are always in; the rest is the replay sample."""
ROUND_PASSES = 2_000
"""A cap on the sample x epoch passes of a round's training run (the one the holdout judges):
a round of the default length (``epochs`` None in ``fine_tune``) runs at most
``round_epochs(samples, fine_tune_epochs)`` epochs. Rounds resume from the last round's
weights, so a few epochs per round add up over rounds."""
REFIT_PASSES = 1_000
"""The most sample passes a refit may take to start again from the round's first weights
(chosen epochs x every sample); a longer one continues from the chosen weights instead, for
one epoch over the held-out newest samples and as many older ones."""
CROSS_FIT_PASSES = 1_000
"""The most sample passes the cross-fitting folds train for, all folds together."""
RUN = 64
"""Neighbouring samples drawn together by :func:`spread` (two batches of 32)."""


def bounded(
    items: Sequence[_T],
    *,
    budget: int = ROUND_SAMPLES,
    recent: int = RECENT_SAMPLES,
    seed: int = 0,
) -> list[_T]:
    """At most ``budget`` of the chronological ``items``, still chronological: the newest
    ``recent`` all in, then one older item drawn (by ``seed``) from each of ``budget -
    recent`` equal stretches of the older ones. All of them when they fit."""
    if budget < 1 or not 0 <= recent <= budget:
        raise ValueError("need budget >= 1 and 0 <= recent <= budget")
    if len(items) <= budget:
        return list(items)
    older = len(items) - recent
    slots = budget - recent
    rng = random.Random(seed)
    picks = [rng.randrange(k * older // slots, (k + 1) * older // slots) for k in range(slots)]
    return [items[i] for i in picks] + list(items[older:])


def round_epochs(samples: int, epochs: int, *, passes: int = ROUND_PASSES) -> int:
    """The epochs a round of ``samples`` may run: ``epochs``, fewer when samples x epochs
    would pass ``passes`` (at least 1)."""
    if samples <= 0:
        return epochs
    return max(1, min(epochs, passes // samples))


def spread(items: Sequence[_T], count: int, *, run: int = RUN, seed: int = 0) -> list[_T]:
    """At most ``count`` of the chronological ``items``, still chronological: all of them
    when they fit, else runs of ``run`` neighbours, one drawn (by ``seed``) from each of equal
    stretches, so that old and new stay in proportion while a batch's samples still share
    their histories (the trainer encodes each distinct title of a batch once: a batch of
    samples drawn one by one from far apart took about twice as long per sample)."""
    if len(items) <= count:
        return list(items)
    run = max(1, min(run, count))
    runs = [items[i : i + run] for i in range(0, len(items), run)]
    picked = bounded(runs, budget=max(1, count // run), recent=0, seed=seed)
    return [item for chunk in picked for item in chunk][:count]


def fold_sample(
    samples: Sequence[_T],
    *,
    folds: int,
    epochs: int,
    passes: int = CROSS_FIT_PASSES,
    seed: int = 0,
) -> list[_T]:
    """What one of ``folds`` cross-fitting folds trains on for ``epochs`` epochs so that all
    folds together stay within ``passes`` sample passes: the fold's chronological
    ``samples``, or a :func:`spread` of them. At least one sample when there are any."""
    if folds < 1 or epochs < 1:
        return list(samples)
    return spread(samples, max(1, passes // (folds * epochs)), seed=seed)
