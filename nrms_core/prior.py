"""Where the click biases start: one logistic regression of every article the reader was
shown, on any screen, opened or not, on its feed and its title's words.

The click biases (:mod:`nrms_core.bias`) are fitted on groups: each click against what was
passed over on its own screen. Those groups cannot see what a screen's rows share: the word a
search filtered on is in every row of it, and a feed's own view holds one feed. What the
reader chose to look at says it: they searched for that word and opened its titles, they went
to that feed and opened there again and again. This module measures it across all screens,

    logit P(open_i) = c + b_{f_i} + Σ_{w ∈ W_i} v_w / √|W_i|

(the lexical term weighted as in :func:`nrms_core.click.click_score`), over the distinct
articles shown, with an L2 pull of each ``b_f`` to 0 and the bias fit's pseudo-Huber pull of
each ``v_w`` (:func:`nrms_core.bias.word_penalty`). Fitted jointly, a feed whose opens its
words explain (a keyword reader's feed, where the keyword happens to appear most) gets little
of its own, and a word that comes only with one favoured feed's titles gets little beside the
feed's. The fitted ``b`` and ``v``, clipped, are the priors the group fit pulls towards.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from nrms_core.bias import maximise, word_penalty
from nrms_core.click import word_weight

__all__ = [
    "FEED_LIMIT",
    "WORD_EASES",
    "WORD_LIMIT",
    "PriorFit",
    "choose_word_ease",
    "feed_signal",
    "fit_prior",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FEED_LIMIT = 2.0
"""A feed's prior is kept within ±this (logits)."""
WORD_LIMIT = 1.5
"""A word's prior is kept within ±this (logits), at the configured word penalty (ease 1)."""
WORD_EASES = (1.0, 0.5)
"""The word penalties :func:`choose_word_ease` tries, as multiples of the configured linear
slope (the limit grows as the slope shrinks): 1, which holds a word back until several opens
agree and lets the feed carry what the words and the feed share, and 0.5, which lets the
words a reader keeps opening carry their opens across feeds (a keyword reader)."""
CV_ARTICLES = 5000
"""The most recently shown articles :func:`choose_word_ease` cross-validates on."""
CV_FOLDS = 3


@dataclass(frozen=True)
class PriorFit:
    """The fitted intercept ``c``, feed priors ``b`` [n_feeds] and word priors ``v``
    [n_words] (clipped to :data:`FEED_LIMIT` and :data:`WORD_LIMIT`); ``articles`` and
    ``opened`` count what it was fitted on."""

    intercept: float
    bias: FloatArray
    words: FloatArray
    articles: int
    opened: int

    @property
    def informed(self) -> bool:
        """Whether it saw enough opens and skips (2·``CV_FOLDS`` of each) for its penalties to
        have been chosen from them: with fewer, :func:`choose_word_ease` takes the first ease
        and :func:`feed_signal` has nothing to stand on."""
        return min(self.opened, self.articles - self.opened) >= 2 * CV_FOLDS


def fit_prior(
    feeds: Sequence[int],
    words: Sequence[Sequence[int]],
    opened: Sequence[bool],
    n_feeds: int,
    n_words: int,
    *,
    l2: float = 1.0,
    word_l2: float = 4.0,
    word_linear: float = 0.25,
    word_limit: float = WORD_LIMIT,
) -> PriorFit:
    """Fit the exposure model (see the module docstring) on N shown articles.

    ``feeds`` [N]: each article's feed index (-1: none); ``words`` [N]: its distinct content
    words' indices (out of range: a word without a prior, which still counts in the weight);
    ``opened`` [N]: whether the reader opened it. Without an open and a skip both, every
    prior is 0 (nothing to compare).
    """
    if not len(feeds) == len(words) == len(opened):
        raise ValueError("feeds, words and opened must have one entry per article")
    if n_feeds < 0 or n_words < 0 or l2 <= 0 or word_l2 <= 0 or word_linear < 0:
        raise ValueError("n_feeds, n_words >= 0, l2, word_l2 > 0 and word_linear >= 0")
    if not word_limit > 0:
        raise ValueError("word_limit must be > 0")
    y = np.asarray(opened, np.float64)  # [N]
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return PriorFit(0.0, np.zeros(n_feeds), np.zeros(n_words), len(y), positives)
    f = np.asarray(feeds, np.int64)
    f = np.where((f >= 0) & (f < n_feeds), f, n_feeds)  # [N]; n_feeds: no feed
    counts = np.asarray([len(w) for w in words], np.int64)
    parts = [np.asarray(w, np.int64).reshape(-1) for w in words]
    cols = np.concatenate(parts) if parts else np.zeros(0, np.int64)  # [M]
    rows = np.repeat(np.arange(len(words)), counts)  # [M]
    weights = np.repeat([word_weight(int(c)) for c in counts], counts)  # [M]
    kept = (cols >= 0) & (cols < n_words)
    t_rows = torch.from_numpy(rows[kept])
    t_cols = torch.from_numpy(cols[kept].astype(np.int64))
    t_weights = torch.from_numpy(weights[kept].astype(np.float64))
    t_feeds = torch.from_numpy(f)
    t_y = torch.from_numpy(y)
    free = torch.ones(n_feeds + 1, dtype=torch.float64)
    free[n_feeds] = 0.0  # "no feed" has no bias
    rate = positives / len(y)
    intercept = torch.tensor(float(np.log(rate / (1.0 - rate))), dtype=torch.float64)
    bias = torch.zeros(n_feeds + 1, dtype=torch.float64)
    v = torch.zeros(n_words, dtype=torch.float64)
    params = [intercept, bias, v]
    for p in params:
        p.requires_grad_(True)

    def objective() -> torch.Tensor:
        lexical = torch.zeros(len(y), dtype=torch.float64).index_add(
            0, t_rows, t_weights * v[t_cols]
        )  # [N]
        z = intercept + (bias * free)[t_feeds] + lexical  # [N]
        log_lik = -torch.nn.functional.binary_cross_entropy_with_logits(z, t_y, reduction="sum")
        b = bias * free
        return log_lik - 0.5 * l2 * (b * b).sum() - word_l2 * word_penalty(v, word_linear)

    maximise(params, objective)
    b_out = (bias * free)[:n_feeds].detach().numpy().clip(-FEED_LIMIT, FEED_LIMIT)
    v_out = v.detach().numpy().clip(-word_limit, word_limit)
    logger.debug(
        "exposure prior: %d articles, %d opened, |b| max %.3f, |v| max %.3f",
        len(y),
        positives,
        float(np.abs(b_out).max(initial=0.0)),
        float(np.abs(v_out).max(initial=0.0)),
    )
    return PriorFit(float(intercept.detach()), b_out.copy(), v_out.copy(), len(y), positives)


def _logits(fit: PriorFit, feeds: IntArray, words: Sequence[Sequence[int]]) -> FloatArray:
    """Each article's log-odds of an open under ``fit`` [N] (``feeds`` [N] and ``words`` as
    :func:`fit_prior` takes them)."""
    n_feeds, n_words = len(fit.bias), len(fit.words)
    z = np.full(len(feeds), fit.intercept)  # [N]
    in_range = (feeds >= 0) & (feeds < n_feeds)
    z[in_range] += fit.bias[feeds[in_range]]
    for i, row in enumerate(words):
        kept = [w for w in row if 0 <= w < n_words]
        if kept:
            z[i] += word_weight(len(row)) * float(fit.words[kept].sum())
    return z


def _log_likelihood(
    fit: PriorFit, feeds: IntArray, words: Sequence[Sequence[int]], y: FloatArray
) -> float:
    """Σ log P(open_i = y_i) [scalar] of articles under ``fit`` (``feeds`` [N] and ``words``
    as :func:`fit_prior` takes them, ``y`` [N] 0/1)."""
    z = _logits(fit, feeds, words)  # [N]
    # log σ(z) for an open, log σ(-z) for a skip, computed stably
    return float(-np.logaddexp(0.0, -np.where(y > 0, z, -z)).sum())


def feed_signal(
    fit: PriorFit, feeds: Sequence[int], words: Sequence[Sequence[int]], *, l2: float
) -> float:
    """How far the fitted feed biases stand above their own noise: Σ_f b_f² over Σ_f se_f²
    [scalar], se_f² = 1 / (Σ_{i in f} p_i (1 - p_i) + l2) the curvature of the penalised
    likelihood at the fit, over the feeds with an article (inf without noise, 0 without
    feeds). Below 1 the feeds say no more than chance would."""
    f = np.asarray(feeds, np.int64)
    n_feeds = len(fit.bias)
    in_range = (f >= 0) & (f < n_feeds)
    p = 1.0 / (1.0 + np.exp(-_logits(fit, f, words)))  # [N]
    info = np.bincount(f[in_range], weights=(p * (1.0 - p))[in_range], minlength=n_feeds)
    seen = np.bincount(f[in_range], minlength=n_feeds) > 0  # [F]
    if not seen.any():
        return 0.0
    noise = float((1.0 / (info[seen] + l2)).sum())
    return float((fit.bias[seen] ** 2).sum()) / noise if noise > 0 else float("inf")


def choose_word_ease(
    feeds: Sequence[int],
    words: Sequence[Sequence[int]],
    opened: Sequence[bool],
    n_feeds: int,
    n_words: int,
    *,
    l2: float = 1.0,
    word_l2: float = 4.0,
    word_linear: float = 0.25,
    eases: Sequence[float] = WORD_EASES,
) -> float:
    """The word penalty, of ``eases``, under which :func:`fit_prior` best predicts opens it
    did not see: ``CV_FOLDS``-fold cross-validated log-likelihood over the last
    :data:`CV_ARTICLES` articles (contiguous folds, in the order given), the first of
    ``eases`` unless another does strictly better. Arguments as :func:`fit_prior` takes them.

    Why choose at all: how much of a reader's opens their title words should carry, against
    their feeds, differs between readers. A reader who follows feeds opens their favourites'
    titles whatever the words, and words eased to carry more only add noise; a reader who
    follows keywords opens them in whatever feed they come up in, and held back, the words
    leave the feeds that happened to carry the keyword most to take the credit (and to
    rank their other articles high). Which it is shows in how well each penalty predicts
    the reader's own opens held out, as a logistic regression chooses its regularisation.
    With fewer than ``2·CV_FOLDS`` opens (or skips) among those articles, the first of
    ``eases``. Every ease must be > 0.
    """
    if not eases or not all(e > 0 for e in eases):
        raise ValueError("eases must be positive numbers")
    first = float(eases[0])
    start = max(0, len(feeds) - CV_ARTICLES)
    # only the feeds and words these articles carry are fitted (a year's vocabulary of
    # unused parameters made each fit ten times slower); -1: none, or out of range
    feed_at: dict[int, int] = {}
    word_at: dict[int, int] = {}
    f = np.asarray(  # [N]
        [feed_at.setdefault(x, len(feed_at)) if 0 <= x < n_feeds else -1 for x in feeds[start:]],
        np.int64,
    )
    w = [
        [word_at.setdefault(x, len(word_at)) if 0 <= x < n_words else -1 for x in row]
        for row in words[start:]
    ]
    n_feeds, n_words = len(feed_at), len(word_at)
    y = np.asarray(opened[start:], np.float64)  # [N]
    if len(y) < CV_FOLDS or y.sum() < 2 * CV_FOLDS or (1.0 - y).sum() < 2 * CV_FOLDS:
        return first
    bounds = np.linspace(0, len(y), CV_FOLDS + 1).astype(int)
    scores: list[float] = []
    for ease in eases:
        total = 0.0
        for k in range(CV_FOLDS):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            train = np.r_[0:lo, hi : len(y)]
            fit = fit_prior(
                f[train].tolist(),
                [w[i] for i in train],
                (y[train] > 0).tolist(),
                n_feeds,
                n_words,
                l2=l2,
                word_l2=word_l2,
                word_linear=word_linear * ease,
                word_limit=WORD_LIMIT / ease,
            )
            total += _log_likelihood(fit, f[lo:hi], w[lo:hi], y[lo:hi])
        scores.append(total)
    best = int(np.argmax(scores))
    chosen = float(eases[best]) if scores[best] > scores[0] else first
    logger.info(
        "word penalty: ease %.2f chosen (held-out log-likelihood %s)",
        chosen,
        ", ".join(f"{e:g}: {v:.2f}" for e, v in zip(eases, scores, strict=True)),
    )
    return chosen
