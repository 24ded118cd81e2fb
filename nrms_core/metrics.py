"""Ranking metrics with MIND's definitions: computed per impression, then averaged.

An impression is one list of shown candidates with binary click labels and the
model's scores. Per impression:

- AUC is the probability that a clicked candidate outranks a skipped one (ties
  count one half, i.e. average ranks); impressions with only one class are skipped.
- MRR = sum(rel_i / rank_i) / sum(rel_i).
- nDCG@k = DCG@k / ideal DCG@k with gain 2^rel - 1 and discount log2(rank + 1).

Tied scores in MRR and nDCG are resolved by their expectation over a uniformly
random order of the tied candidates, so a constant scorer gets the value of a
random ranking rather than one that depends on the input order. MRR and nDCG are
undefined (NaN, skipped in averages) for an impression without any click.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["auc", "evaluate_impressions", "impression_metrics", "mrr", "ndcg"]

_LOG = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


def _as_arrays(
    labels: Sequence[float] | npt.ArrayLike, scores: Sequence[float] | npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Validate one impression and return (labels [N], scores [N]) as float64."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} != {s.shape[0]}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if np.any(y < 0):
        raise ValueError("labels must be non-negative")
    return y, s


def _tie_groups(scores: FloatArray) -> tuple[npt.NDArray[np.intp], list[tuple[int, int]]]:
    """Order by descending score and return (order [N], [(start, stop)] of tied runs)."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    groups: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(ranked) + 1):
        if i == len(ranked) or ranked[i] != ranked[start]:
            groups.append((start, i))
            start = i
    return order, groups


def _expected_weights(scores: FloatArray, position_weight: FloatArray) -> FloatArray:
    """Expected weight of each candidate's position under random tie-breaking.

    ``position_weight[r]`` is the weight of 0-based rank r; returns [N] aligned with scores.
    """
    order, groups = _tie_groups(scores)
    out = np.empty_like(scores)
    for start, stop in groups:
        out[order[start:stop]] = float(position_weight[start:stop].mean())
    return out


def auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Rank AUC of one impression (ties count one half); NaN when single-class."""
    y, s = _as_arrays(labels, scores)
    pos = y > 0
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = float(ranks[pos].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def mrr(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """MIND's MRR of one impression: sum(rel_i / rank_i) / sum(rel_i); NaN without clicks."""
    y, s = _as_arrays(labels, scores)
    total = float(y.sum())
    if total <= 0:
        return math.nan
    reciprocal = 1.0 / np.arange(1, len(y) + 1, dtype=np.float64)
    return float((y * _expected_weights(s, reciprocal)).sum() / total)


def ndcg(labels: npt.ArrayLike, scores: npt.ArrayLike, k: int) -> float:
    """nDCG@k of one impression (gain 2^rel - 1, discount log2(rank + 1)); NaN without clicks."""
    if k < 1:
        raise ValueError("k must be >= 1")
    y, s = _as_arrays(labels, scores)
    gains = np.power(2.0, y) - 1.0
    ranks = np.arange(1, len(y) + 1, dtype=np.float64)
    discount = np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)
    ideal = float((np.sort(gains)[::-1] * discount).sum())
    if ideal <= 0:
        return math.nan
    return float((gains * _expected_weights(s, discount)).sum() / ideal)


def impression_metrics(labels: npt.ArrayLike, scores: npt.ArrayLike) -> dict[str, float]:
    """All metrics of one impression: ``auc``, ``mrr``, ``ndcg5``, ``ndcg10`` (NaN = undefined)."""
    return {
        "auc": auc(labels, scores),
        "mrr": mrr(labels, scores),
        "ndcg5": ndcg(labels, scores, 5),
        "ndcg10": ndcg(labels, scores, 10),
    }


def evaluate_impressions(
    impressions: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]],
) -> dict[str, float]:
    """Average each metric over the impressions where it is defined.

    Returns ``auc``, ``mrr``, ``ndcg5``, ``ndcg10`` (NaN when no impression defines
    one), ``impressions`` (all impressions seen) and ``auc_impressions`` (those with
    both classes).
    """
    sums = {"auc": 0.0, "mrr": 0.0, "ndcg5": 0.0, "ndcg10": 0.0}
    counts = dict.fromkeys(sums, 0)
    total = 0
    for labels, scores in impressions:
        total += 1
        for name, value in impression_metrics(labels, scores).items():
            if not math.isnan(value):
                sums[name] += value
                counts[name] += 1
    result: dict[str, float] = {
        name: (sums[name] / counts[name] if counts[name] else math.nan) for name in sums
    }
    result["impressions"] = float(total)
    result["auc_impressions"] = float(counts["auc"])
    if total and counts["auc"] < total:
        _LOG.debug("%d of %d impressions are single-class", total - counts["auc"], total)
    return result
