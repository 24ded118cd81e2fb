"""A round's budget (issue 19): what one training round learns from, so that its time does
not grow with the reader's whole history.

A round resumes from the previous round's weights, so it need not see every click again: it
takes the newest clicks all in (what the last rounds have not learned yet, and the held-out
tail the round is judged on) plus a replay sample of the older ones, stratified over time
(one drawn at random from each of equal stretches of the older clicks) and drawn afresh each
round (the seed changes with the log), so that over rounds every old click comes back. The
same bound applies to the sessions the click biases are fitted on. Profiles under the budget
train exactly as before.

:func:`round_epochs` caps a round's samples x epochs; the app does not apply it yet (a round
under that cap was measured by ``bench/round_budget.py --passes``, its quality not yet
compared with uncapped rounds).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["RECENT_SAMPLES", "ROUND_PASSES", "ROUND_SAMPLES", "bounded", "round_epochs"]

_T = TypeVar("_T")

ROUND_SAMPLES = 2_000
"""The most samples (and bias-fit sessions) one round uses."""
RECENT_SAMPLES = 1_000
"""Of those, the newest this many are always in; the rest is the replay sample."""
ROUND_PASSES = 4_000
"""A cap on sample x epoch passes of one round's training (cross-fitting and refit aside;
not applied by the app yet)."""


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
