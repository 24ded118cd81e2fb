"""The click score's wide terms: how much more (or less) often the reader opens a feed's
articles, and articles with a given word, than the model's score alone predicts.

The final click score (:func:`nrms_core.click.click_score`, where it is defined) is NRMS's
score uᵀr scaled by ``a``, plus an additive bias ``b_f`` per feed and a bias ``v_w`` per title
word (content words only, each counted once, weighted by :func:`nrms_core.click.word_weight`).
All are fitted after NRMS is trained, by maximising the conditional likelihood of each click
against everything shown and skipped beside it (one softmax per click, as NRMS is trained,
but over all its session's skipped articles instead of K of them), with penalties that
pull every ``b_f`` and ``v_w`` to its prior (0 unless the caller gives one: what the reader's
opens say across all screens) and ``a`` to 1: L2 for ``b`` and ``a``, and for ``v`` a
pseudo-Huber penalty, quadratic near 0 and linear beyond ``word_linear`` (see
:func:`fit_bias`). The problem is concave; L-BFGS finds its one optimum, and ``a`` is
floored at :data:`MIN_SCALE` (the model's score may be damped, never turned around). The
scores this module is given are the caller's choice; the recommender gives it cross-fitted
ones (each click scored by a model that did not train on it), so that ``a`` is what uᵀr is
worth on clicks it has not learned.

Why these terms: the feed's click rate is what the title's words cannot say (on topical
feeds, one feed per subject, it is most of the signal). The word biases are what a few
hundred clicks can teach faster than the news encoder can: that this reader opens anything
that says "lithuania". The encoder moves a word's 50-d embedding a little per step, and its
news vector dilutes one word among ten, so after 500 clicks NRMS's score still barely moves
with a reader's keyword; a per-word bias learns it from a handful of clicks. As separate
terms both are exactly attributed (to the feed, to the word), and neither competes with the
title's words for the news encoder's attention.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from nrms_core.click import click_score, word_weight
from nrms_core.optimizer import LBFGS

__all__ = [
    "BiasFit",
    "Group",
    "click_scores",
    "fit_bias",
    "maximise",
    "word_penalty",
    "word_weight",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_SCALE = 0.05
"""Floor of the fitted scale ``a``: the model's score may be damped, never turned around."""

_MAX_ITERATIONS = 500


@dataclass(frozen=True)
class Group:
    """One click and what was skipped beside it.

    ``scores`` [n] are the model's raw scores uᵀr, ``feeds`` [n] feed indices in
    ``0..n_feeds-1`` (-1: no feed, no bias); position 0 is the clicked article. ``words``
    holds, per candidate, the indices (``0..n_words-1``) of its distinct content words, each
    weighted 1/√(how many there are); an index out of range is a word without a bias of its
    own, which still counts in the weight. Empty: no word terms in this group.
    """

    scores: FloatArray
    feeds: IntArray
    words: tuple[IntArray, ...] = field(default=())


@dataclass(frozen=True)
class BiasFit:
    """Fitted ``a``, ``b`` [n_feeds] and ``v`` [n_words], with the penalised mean
    log-likelihood per click at the optimum."""

    scale: float
    bias: FloatArray
    log_likelihood: float
    clicks: int
    words: FloatArray = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class _Problem:
    """The usable groups as padded tensors: G groups of at most N candidates."""

    scores: torch.Tensor  # [G, N] float64, 0 at padding
    feeds: torch.Tensor  # [G, N] int64 feed index; n_feeds: no feed (and padding)
    mask: torch.Tensor  # [G, N] bool, True at real candidates
    rows: torch.Tensor  # [M] int64 flat candidate (g * N + k) of each word occurrence
    cols: torch.Tensor  # [M] int64 its word index
    weights: torch.Tensor  # [M] float64 its weight, 1/√(the candidate's content words)


def _problem(
    groups: Sequence[Group], n_feeds: int, n_words: int, *, informative: bool = True
) -> _Problem | None:
    """The groups as padded tensors: with ``informative``, only those with more than one
    candidate and finite scores (None when there is none), else every non-empty one."""
    usable = [
        g
        for g in groups
        if len(g.scores) > (1 if informative else 0)
        and (not informative or np.isfinite(g.scores).all())
    ]
    if not usable:
        return None
    width = max(len(g.scores) for g in usable)
    scores = np.zeros((len(usable), width))
    feeds = np.full((len(usable), width), n_feeds, np.int64)
    mask = np.zeros((len(usable), width), bool)
    counts: list[int] = []  # per candidate, flat: how many content words
    flat: list[int] = []  # per candidate, flat: g * N + k
    for i, g in enumerate(usable):
        n = len(g.scores)
        scores[i, :n] = g.scores
        f = np.asarray(g.feeds, np.int64)
        feeds[i, :n] = np.where((f >= 0) & (f < n_feeds), f, n_feeds)
        mask[i, :n] = True
        counts += [len(w) for w in g.words[:n]]
        flat += range(i * width, i * width + min(n, len(g.words)))
    parts = [np.asarray(w, np.int64).reshape(-1) for g in usable for w in g.words[: len(g.scores)]]
    cols = np.concatenate(parts) if parts else np.zeros(0, np.int64)  # [M]
    sizes = np.asarray(counts, np.int64)
    rows = np.repeat(np.asarray(flat, np.int64), sizes)  # [M]
    values = np.repeat([word_weight(c) for c in counts], sizes)  # [M]
    kept = (cols >= 0) & (cols < n_words)
    return _Problem(
        torch.from_numpy(scores),
        torch.from_numpy(feeds),
        torch.from_numpy(mask),
        torch.from_numpy(rows[kept]),
        torch.from_numpy(cols[kept]),
        torch.from_numpy(values[kept]),
    )


def _logits(
    problem: _Problem, scale: torch.Tensor, bias: torch.Tensor, words: torch.Tensor
) -> torch.Tensor:
    """The click scores (:func:`nrms_core.click.click_score`) [G, N] of the padded groups
    (-inf at padding); ``bias`` [n_feeds + 1] ends with the 0 of "no feed", ``words`` is
    v [n_words]."""
    grid = problem.scores.shape  # [G, N]
    lexical = torch.zeros(grid.numel(), dtype=torch.float64).index_add(
        0, problem.rows, problem.weights * words[problem.cols]
    )  # [G * N]
    z = click_score(scale, problem.scores, bias[problem.feeds], lexical.view(grid))  # [G, N]
    return z.masked_fill(~problem.mask, -math.inf)


def word_penalty(words: torch.Tensor, linear: float) -> torch.Tensor:
    """Σ ρ(v) over v [n_words]: ρ(v) = v²/2 with ``linear`` 0, else the pseudo-Huber
    ``linear² (√(1 + (v/linear)²) - 1)``, which is v²/2 near 0 and grows as ``linear·|v|``
    beyond ``linear``."""
    if linear <= 0:
        return 0.5 * (words * words).sum()
    return (linear * linear * (torch.sqrt(1.0 + (words / linear) ** 2) - 1.0)).sum()


def maximise(params: Sequence[torch.Tensor], objective: Callable[[], torch.Tensor]) -> None:
    """Move ``params`` (tensors with ``requires_grad``) to the maximum of the concave
    ``objective`` by L-BFGS with a strong-Wolfe line search, in place."""
    optimiser = LBFGS(
        params,
        lr=1.0,
        max_iter=_MAX_ITERATIONS,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = -objective()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad():
        optimiser.step(closure)  # type: ignore[no-untyped-call]


def _solve(
    problem: _Problem,
    n_feeds: int,
    n_words: int,
    *,
    l2: float,
    scale_l2: float,
    word_l2: float,
    word_linear: float,
    fixed_scale: float | None,
    prior: torch.Tensor | None = None,
    word_prior: torch.Tensor | None = None,
) -> tuple[float, torch.Tensor, torch.Tensor, float]:
    """Maximise the penalised log-likelihood; ``a`` free unless ``fixed_scale`` is given, each
    ``b_f`` pulled to ``prior`` [n_feeds] and each ``v_w`` to ``word_prior`` [n_words] (0 when
    None). Returns a, b [n_feeds], v [n_words] and the penalised log-likelihood (summed)."""
    scale = torch.tensor(1.0 if fixed_scale is None else fixed_scale, dtype=torch.float64)
    centre = torch.zeros(n_feeds + 1, dtype=torch.float64)  # the last slot: no feed
    if prior is not None:
        centre[:n_feeds] = prior
    bias = centre.clone()  # the last slot: no feed, stays 0
    word_centre = (
        torch.zeros(n_words, dtype=torch.float64) if word_prior is None else word_prior.clone()
    )
    words = word_centre.clone()
    params = [bias, words] if fixed_scale is not None else [scale, bias, words]
    for p in params:
        p.requires_grad_(True)
    free = torch.ones(n_feeds + 1, dtype=torch.float64)
    free[n_feeds] = 0.0

    def objective() -> torch.Tensor:
        b = bias * free
        z = _logits(problem, scale, b, words)  # [G, N]
        log_lik = (z[:, 0] - torch.logsumexp(z, dim=1)).sum()
        off = b - centre
        penalty = 0.5 * l2 * (off * off).sum() + word_l2 * word_penalty(
            words - word_centre, word_linear
        )
        if fixed_scale is None:
            penalty = penalty + 0.5 * scale_l2 * (scale - 1.0) ** 2
        return log_lik - penalty

    maximise(params, objective)
    with torch.no_grad():
        value = float(objective())
    return float(scale.detach()), (bias * free)[:n_feeds].detach(), words.detach(), value


def fit_bias(
    groups: Sequence[Group],
    n_feeds: int,
    n_words: int = 0,
    *,
    l2: float = 1.0,
    scale_l2: float = 1.0,
    word_l2: float = 1.0,
    word_linear: float = 0.0,
    prior: FloatArray | None = None,
    word_prior: FloatArray | None = None,
) -> BiasFit:
    """Fit ``a``, ``b`` [n_feeds] and ``v`` [n_words] on the groups; see the module docstring.

    ``prior`` [n_feeds] is where ``l2`` pulls each ``b_f`` instead of 0: what the reader's
    opens say about each feed beyond the groups (for example how often they open its
    articles among all they are shown, or choose its own view). The groups move ``b`` from
    there; without any usable group ``b`` is the prior. ``word_prior`` [n_words] is the same
    for the words: where their pull centres (what the reader's opens say about titles that
    carry a word on every screen, for example the word a search filtered on, which every
    candidate of a search screen's groups carries, so that the groups cannot move it).

    ``l2`` pulls each ``b_f`` to 0, ``word_l2`` each ``v_w`` to 0 and ``scale_l2`` pulls ``a``
    to 1 (all per unit of the log-likelihood summed over clicks). With ``word_linear`` > 0
    the pull on a word is ``word_l2`` times a pseudo-Huber penalty: ``word_l2·v²/2`` near 0,
    growing only as ``word_l2·word_linear·|v|`` beyond ``word_linear``. That is the prior of
    a reader with a few strong interests (a team, a place) among many indifferent words: the
    many small biases are held near 0 as firmly as by L2, while a keyword the clicks keep
    confirming may grow large, where L2 would have cost it quadratically. Groups with a single
    candidate or a non-finite score carry no information and are ignored; feeds and words
    out of range get no term. Without any usable group the result is ``a = 1`` and ``b``
    and ``v`` at their priors (0 when none).
    """
    if n_feeds < 0 or n_words < 0 or l2 <= 0 or scale_l2 <= 0 or word_l2 <= 0:
        raise ValueError("n_feeds, n_words >= 0 and l2, scale_l2, word_l2 > 0 are required")
    if not word_linear >= 0:
        raise ValueError("word_linear must be >= 0")
    centre = np.zeros(n_feeds) if prior is None else np.asarray(prior, np.float64)
    if centre.shape != (n_feeds,) or not np.isfinite(centre).all():
        raise ValueError("prior must be n_feeds finite numbers")
    word_centre = np.zeros(n_words) if word_prior is None else np.asarray(word_prior, np.float64)
    if word_centre.shape != (n_words,) or not np.isfinite(word_centre).all():
        raise ValueError("word_prior must be n_words finite numbers")
    problem = _problem(groups, n_feeds, n_words)
    if problem is None:
        return BiasFit(1.0, centre.copy(), float("nan"), 0, word_centre.copy())
    penalties = {
        "l2": float(l2),
        "scale_l2": float(scale_l2),
        "word_l2": float(word_l2),
        "word_linear": float(word_linear),
    }
    at, word_at = torch.from_numpy(centre), torch.from_numpy(word_centre)
    with torch.enable_grad():
        scale, bias, words, value = _solve(
            problem, n_feeds, n_words, **penalties, fixed_scale=None, prior=at, word_prior=word_at
        )
        if scale < MIN_SCALE:  # the optimum on the floor: solve again with a held there
            scale, bias, words, value = _solve(
                problem,
                n_feeds,
                n_words,
                **penalties,
                fixed_scale=MIN_SCALE,
                prior=at,
                word_prior=word_at,
            )
    clicks = int(problem.scores.shape[0])
    logger.debug(
        "click bias: a=%.3f, |b| max %.3f, |v| max %.3f over %d clicks",
        scale,
        float(bias.abs().max()) if n_feeds else 0.0,
        float(words.abs().max()) if n_words else 0.0,
        clicks,
    )
    return BiasFit(scale, bias.numpy().copy(), value / clicks, clicks, words.numpy().copy())


def click_scores(groups: Sequence[Group], fit: BiasFit) -> list[FloatArray]:
    """The click scores [n] of each group's candidates under a fit
    (:func:`nrms_core.click.click_score`, as the fit maximised them); a feed or word outside
    the fit adds nothing."""
    n_feeds, n_words = len(fit.bias), len(fit.words)
    problem = _problem(groups, n_feeds, n_words, informative=False)
    if problem is None:
        return [np.zeros(0) for _ in groups]
    bias = torch.cat([torch.from_numpy(fit.bias), torch.zeros(1, dtype=torch.float64)])
    z = _logits(
        problem, torch.tensor(fit.scale, dtype=torch.float64), bias, torch.from_numpy(fit.words)
    ).numpy()  # [G, N]
    rows = iter(range(len(z)))
    return [z[next(rows), : len(g.scores)].copy() if len(g.scores) else np.zeros(0) for g in groups]
