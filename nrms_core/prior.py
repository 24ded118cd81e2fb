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

__all__ = ["FEED_LIMIT", "WORD_LIMIT", "PriorFit", "fit_prior"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FEED_LIMIT = 2.0
"""A feed's prior is kept within ±this (logits)."""
WORD_LIMIT = 1.5
"""A word's prior is kept within ±this (logits)."""


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
    v_out = v.detach().numpy().clip(-WORD_LIMIT, WORD_LIMIT)
    logger.debug(
        "exposure prior: %d articles, %d opened, |b| max %.3f, |v| max %.3f",
        len(y),
        positives,
        float(np.abs(b_out).max(initial=0.0)),
        float(np.abs(v_out).max(initial=0.0)),
    )
    return PriorFit(float(intercept.detach()), b_out.copy(), v_out.copy(), len(y), positives)
