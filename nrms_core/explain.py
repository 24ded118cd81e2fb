"""Exact explanations of one click score, with leave-one-out checks.

With u = Σ_i β_i h_i (user encoder) and r_c = Σ_j α_j h^w_j (news encoder),
the score uᵀr_c equals both Σ_j α_j (uᵀh^w_j) (shares of title words) and
Σ_i β_i (h_iᵀr_c) (shares of past articles). The click score adds the fitted
scale, feed bias and word biases (:mod:`nrms_core.bias`): ŷ = a·uᵀr_c + b_f + l,
where the lexical bias l is split over the title's words (each content word's
v_w/√|W|, given by the caller). So the word shares a·α_j (uᵀh^w_j) with their
biases l_j plus the feed's b_f, and the past-article shares a·β_i (h_iᵀr_c) plus
l and b_f, both equal ŷ. Leave-one-out deltas erase one word (re-encoding the title, and
re-weighing the lexical bias over the words left) or drop one past article
(re-encoding the user); the feed's bias stays, as it belongs to the feed and not
to a word. The Spearman correlation between shares and deltas measures
faithfulness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nrms_core.model import NRMS

__all__ = ["Explanation", "HistoryShare", "WordShare", "explain", "spearman"]


@dataclass(frozen=True)
class WordShare:
    """One title word: additive-attention weight α_j, signed share a·α_j·uᵀh^w_j, its part
    l_j of the lexical bias (``bias``), and the leave-one-out delta of both together."""

    token: str
    attention: float
    share: float
    loo: float
    bias: float = 0.0


@dataclass(frozen=True)
class HistoryShare:
    """One past article (``index`` into the given history): β_i, share β_i·h_iᵀr_c, LOO delta."""

    index: int
    attention: float
    share: float
    loo: float


@dataclass(frozen=True)
class Explanation:
    """The score, its exact decompositions, and their rank agreement with leave-one-out.

    ``score`` = Σ words' (share + bias) + ``feed`` = Σ history's shares + ``lexical`` +
    ``feed``, where ``feed`` is the fitted bias b_f of the candidate's feed (0 without one)
    and ``lexical`` the title's word biases, Σ of the words' ``bias``. The words'
    faithfulness compares share + bias with the leave-one-out deltas.
    """

    score: float
    words: tuple[WordShare, ...]
    history: tuple[HistoryShare, ...]
    faithfulness_words: float | None
    faithfulness_history: float | None
    feed: float = 0.0
    lexical: float = 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        stop = start + 1
        while stop < len(values) and sorted_values[stop] == sorted_values[start]:
            stop += 1
        ranks[order[start:stop]] = (start + stop + 1) / 2.0
        start = stop
    return ranks


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """Spearman rank correlation (ties averaged); None when n < 2 or either side is constant."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        return None
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    rx = _ranks(x) - (len(x) + 1) / 2.0
    ry = _ranks(y) - (len(y) + 1) / 2.0
    denom = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    if denom == 0.0:
        return None
    return float((rx * ry).sum() / denom)


def _pad(rows: Sequence[Sequence[int]], device: torch.device) -> torch.Tensor:
    """Token id lists -> [N, L] int64 padded with 0 (L >= 1)."""
    width = max([1, *(len(r) for r in rows)])
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(list(row), dtype=torch.long)
    return out.to(device)


def explain(
    model: NRMS,
    candidate: Sequence[int],
    tokens: Sequence[str],
    history: Sequence[Sequence[int]],
    device: torch.device,
    *,
    index_offset: int = 0,
    word_bias: Sequence[float] | None = None,
    word_bias_loo: Sequence[float] | None = None,
) -> Explanation:
    """Explain the score of the candidate title for the user of ``history``.

    Args:
        model: the NRMS model on ``device`` (put in eval mode here).
        candidate: the candidate's token ids (L).
        tokens: the candidate's tokens, as shown to the reader (L).
        history: token ids of past articles, oldest first (H, already cut to max_history).
        index_offset: added to history positions to give :attr:`HistoryShare.index`.
        word_bias: each token's part l_j of the title's lexical bias (L; None: no bias).
        word_bias_loo: how much the lexical bias drops when token j is erased (L).
    """
    if len(candidate) != len(tokens):
        raise ValueError("candidate ids and tokens differ in length")
    lexical = np.zeros(len(tokens)) if word_bias is None else np.asarray(word_bias, np.float64)
    lexical_loo = (
        np.zeros(len(tokens)) if word_bias_loo is None else np.asarray(word_bias_loo, np.float64)
    )
    if lexical.shape != (len(tokens),) or lexical_loo.shape != (len(tokens),):
        raise ValueError("one word bias and one leave-one-out bias per token expected")
    model.eval()
    with torch.inference_mode():
        news = model.news_encoder(_pad([candidate], device))
        r_c = news.vector[0]  # [D]
        alpha = news.attention[0, : len(candidate)]  # [L]
        h_words = news.words[0, : len(candidate)]  # [L, D]
        hist_vectors = model.encode_news(_pad(history, device))[: len(history)]  # [H, D]
        mask = torch.ones(1, len(history), dtype=torch.bool, device=device)  # [1, H]
        user = model.user_encoder(hist_vectors.unsqueeze(0), mask)
        u = user.vector[0]  # [D]
        beta = user.attention[0]  # [H]
        h_hist = user.history[0]  # [H, D]
        scale = model.score_scale.to(u.dtype)  # [] a
        feed = float(model.source_bias[candidate[0]]) if len(candidate) else 0.0  # b_f
        raw = float(u @ r_c)
        score = float(scale) * raw + feed + float(lexical.sum())
        word_share = scale * alpha * (h_words @ u)  # [L]
        hist_share = scale * beta * (h_hist @ r_c)  # [H]

        n_words = len(candidate)
        word_loo = torch.zeros(n_words, device=device)  # [L]
        if n_words:
            erased = [[t for k, t in enumerate(candidate) if k != j] for j in range(n_words)]
            r_erased = model.encode_news(_pad(erased, device))  # [L, D]
            word_loo = scale * (raw - r_erased @ u)  # [L]

        n_hist = len(history)
        hist_loo = torch.zeros(n_hist, device=device)  # [H]
        if n_hist:
            keep = ~torch.eye(n_hist, dtype=torch.bool, device=device)  # [H, H]
            index = torch.arange(n_hist, device=device).expand(n_hist, n_hist)  # [H, H]
            dropped = index[keep].view(n_hist, n_hist - 1)  # [H, H-1]
            stacked = hist_vectors[dropped]  # [H, H-1, D]
            sub_mask = torch.ones(n_hist, n_hist - 1, dtype=torch.bool, device=device)
            u_dropped = model.encode_user(stacked, sub_mask)  # [H, D]
            hist_loo = scale * (raw - u_dropped @ r_c)  # [H]

    words_np: list[np.ndarray] = [a.double().cpu().numpy() for a in (alpha, word_share, word_loo)]
    words_np[2] = words_np[2] + lexical_loo
    hist_np: list[np.ndarray] = [a.double().cpu().numpy() for a in (beta, hist_share, hist_loo)]
    words = tuple(
        WordShare(
            tokens[j],
            float(words_np[0][j]),
            float(words_np[1][j]),
            float(words_np[2][j]),
            float(lexical[j]),
        )
        for j in range(n_words)
    )
    past = tuple(
        HistoryShare(
            index_offset + i, float(hist_np[0][i]), float(hist_np[1][i]), float(hist_np[2][i])
        )
        for i in range(n_hist)
    )
    return Explanation(
        score=score,
        words=words,
        history=past,
        faithfulness_words=spearman(words_np[1] + lexical, words_np[2]),
        faithfulness_history=spearman(hist_np[1], hist_np[2]),
        feed=feed,
        lexical=float(lexical.sum()),
    )
