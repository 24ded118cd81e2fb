"""The per-feed click bias: how much more (or less) often the reader opens a feed's articles
than the model's score alone predicts.

The final click score of a candidate c from feed f is ``a · uᵀr_c + b_f``: NRMS's score
scaled by ``a`` plus an additive bias per feed. Both are fitted after NRMS is trained, by
maximising the conditional likelihood of each click against everything shown and skipped
beside it (one softmax per click, as NRMS is trained, but over all its session's skipped
articles instead of K of them), with an L2 penalty that pulls every ``b_f`` to 0 and ``a``
to 1. The problem is concave, so a damped Newton method finds its one optimum in a few
steps.

The bias is what a reader's per-feed click rate says, which the title's words cannot: on
topical feeds (one feed per subject) it is most of the signal, on a newspaper's general feed
a little. As a separate term it is exactly attributed ("the feed": ``b_f``), and it does not
compete with the title's words for the news encoder's attention.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BiasFit", "Group", "fit_bias"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_SCALE = 0.05
"""Floor of the fitted scale ``a``: the model's score may be damped, never turned around."""


@dataclass(frozen=True)
class Group:
    """One click and what was skipped beside it.

    ``scores`` [n] are the model's raw scores uᵀr, ``feeds`` [n] feed indices in
    ``0..n_feeds-1`` (-1: no feed, no bias); position 0 is the clicked article.
    """

    scores: FloatArray
    feeds: IntArray


@dataclass(frozen=True)
class BiasFit:
    """Fitted ``a`` and ``b`` [n_feeds], with the mean log-likelihood per click at the optimum."""

    scale: float
    bias: FloatArray
    log_likelihood: float
    clicks: int


def _design(group: Group) -> tuple[FloatArray, IntArray]:
    """The group's local design [n, 1 + f] (score, one-hot over its f feeds) and the columns
    [1 + f] of ``theta`` it uses."""
    present = group.feeds >= 0
    local, inverse = np.unique(group.feeds[present], return_inverse=True)  # [f], [m]
    x = np.zeros((len(group.scores), 1 + len(local)))  # [n, 1 + f]
    x[:, 0] = group.scores
    x[np.flatnonzero(present), 1 + inverse] = 1.0
    return x, np.concatenate([[0], 1 + local]).astype(np.int64)


def _terms(
    theta: FloatArray,
    designs: Sequence[tuple[FloatArray, IntArray]],
    l2: FloatArray,
    prior: FloatArray,
) -> tuple[float, FloatArray, FloatArray]:
    """Penalised log-likelihood, its gradient [1 + F] and Hessian [1 + F, 1 + F] at ``theta``."""
    diff = theta - prior
    value = -0.5 * float((l2 * diff * diff).sum())
    grad = -l2 * diff
    hess = -np.diag(l2)
    for x, index in designs:
        z = x @ theta[index]  # [n]
        z -= z.max()
        p = np.exp(z)  # [n]
        total = float(p.sum())
        p /= total
        value += float(z[0]) - float(np.log(total))
        mean = p @ x  # [1 + f]
        grad[index] += x[0] - mean
        hess[np.ix_(index, index)] -= (x * p[:, None]).T @ x - np.outer(mean, mean)
    return value, grad, hess


def fit_bias(
    groups: Sequence[Group],
    n_feeds: int,
    *,
    l2: float = 1.0,
    scale_l2: float = 1.0,
    iterations: int = 50,
) -> BiasFit:
    """Fit ``a`` and ``b`` [n_feeds] on the groups; see the module docstring.

    ``l2`` pulls each ``b_f`` to 0 and ``scale_l2`` pulls ``a`` to 1 (both per unit of the
    log-likelihood summed over clicks). Groups with a single candidate carry no information
    and are ignored. Without any usable group the result is ``a = 1``, ``b = 0``.
    """
    if n_feeds < 0 or l2 <= 0 or scale_l2 <= 0:
        raise ValueError("n_feeds >= 0, l2 > 0 and scale_l2 > 0 are required")
    usable = [
        _design(
            Group(
                np.asarray(g.scores, np.float64),
                np.where(np.asarray(g.feeds) < n_feeds, np.asarray(g.feeds), -1).astype(np.int64),
            )
        )
        for g in groups
        if len(g.scores) > 1 and np.isfinite(g.scores).all()
    ]
    prior = np.zeros(1 + n_feeds)
    prior[0] = 1.0
    if not usable:
        return BiasFit(1.0, np.zeros(n_feeds), float("nan"), 0)
    penalty = np.full(1 + n_feeds, float(l2))
    penalty[0] = float(scale_l2)
    theta = prior.copy()
    value, grad, hess = _terms(theta, usable, penalty, prior)
    for _ in range(iterations):
        step = np.linalg.solve(hess, -grad)  # Newton direction (hess is negative definite)
        moved = False
        for _halving in range(30):
            candidate = theta + step
            candidate[0] = max(candidate[0], MIN_SCALE)
            new_value, new_grad, new_hess = _terms(candidate, usable, penalty, prior)
            if new_value >= value - 1e-12:
                moved = float(np.abs(candidate - theta).max()) > 1e-7
                theta, value, grad, hess = candidate, new_value, new_grad, new_hess
                break
            step *= 0.5
        if not moved:
            break
    logger.debug(
        "feed bias: a=%.3f, |b| max %.3f over %d clicks",
        theta[0],
        np.abs(theta[1:]).max(initial=0.0),
        len(usable),
    )
    return BiasFit(float(theta[0]), theta[1:].copy(), value / len(usable), len(usable))
