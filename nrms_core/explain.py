"""Exact explanations of one click score, traced to the original title words and past reads.

NRMS's self-attention layers have no residual, feed-forward or output projection, so with
their attention weights held at their values each output is linear in the inputs' value
vectors (Kobayashi et al., EMNLP 2020, "Attention is not only a weight"). With α the news
encoder's additive weights, a^{(k)} its head-k self-attention weights and V^{(k)} x + c^{(k)}
its value projection,

    r_c = Σ_j α_j h^w_j = Σ_m (Σ_j α_j a^{(k)}_{jm}) V^{(k)} e_m + c      (per head k)

over the title's word embeddings e_m, and likewise u = Σ_i β_i h_i over the past reads' news
vectors r_i with the user encoder's weights. So uᵀr_c splits exactly into one share per
original word, uᵀ(Σ_j α_j a_{jm}) V e_m, plus uᵀc (``word_base``: the news value bias, the
same for every title of one reader), and, on the other side, into one share per original
past read plus c_uᵀr_c (``history_base``: the user value bias, the part of the score no past
read carries). Pad words and pad history slots get weight 0, so they change no share.

The click score ŷ (:func:`nrms_core.click.click_score`) adds the fitted scale a, feed bias
b_f and lexical bias l (:mod:`nrms_core.bias`); l is split over the title's words (each
content word's part, given by the caller). So the words' a-scaled shares with their biases l_j plus
``word_base`` and the feed's b_f, and the past reads' a-scaled shares plus ``history_base``, l
and b_f, both equal ŷ.

``method="blend"`` gives the shares taken after self-attention instead (a·α_j uᵀh^w_j and
a·β_i h_iᵀr_c, no base): exact too, but each h mixes every word (every past read), so those
shares come out nearly uniform. They are kept to measure the two against each other
(bench/explain.py).

Leave-one-out deltas erase one word (re-encoding the title without it, which is the same as
masking it, and re-weighing the lexical bias over the words left) or drop one past read
(re-encoding the user); the feed's bias stays, as it belongs to the feed and not to a word.
The Spearman correlation between shares and deltas measures faithfulness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from nrms_core.click import click_score
from nrms_core.model import NRMS, MultiHeadSelfAttention, Trace

__all__ = [
    "Explanation",
    "HistoryShare",
    "Method",
    "TokenShare",
    "explain",
    "input_parts",
    "rescore",
    "spearman",
]

Method = Literal["inputs", "blend"]
"""``inputs``: shares of the original words and past reads (the default); ``blend``: shares
of the self-attention outputs, as before the input-level decomposition."""


@dataclass(frozen=True)
class TokenShare:
    """One title token (a word, or the source token that leads the title): additive-attention
    weight α_j of its position, signed share of the score (a times its part of uᵀr_c), its
    part l_j of the lexical bias (``bias``), the leave-one-out delta of both together, and
    ``input_attention``: Σ_j α_j a^{(k)}_{jm} averaged over the heads, the attention that
    reaches this original word through both layers (the words' values sum to 1)."""

    token: str
    attention: float
    share: float
    loo: float
    bias: float = 0.0
    input_attention: float = 0.0


@dataclass(frozen=True)
class HistoryShare:
    """One past read (``index`` into the given history): β_i, its share of the score, the
    leave-one-out delta, and ``input_attention`` (Σ_j β_j a^{(k)}_{ji} averaged over heads)."""

    index: int
    attention: float
    share: float
    loo: float
    input_attention: float = 0.0


def _empty() -> np.ndarray:
    return np.zeros((0, 0, 0), dtype=np.float32)


@dataclass(frozen=True)
class Explanation:
    """The score, its exact decompositions, and their rank agreement with leave-one-out.

    ``score`` = Σ words' (share + bias) + ``word_base`` + ``feed``
    = Σ history's shares + ``history_base`` + ``lexical`` + ``feed``, where ``feed`` is the
    fitted bias b_f of the candidate's feed (0 without one), ``lexical`` the title's word
    biases (Σ of the words' ``bias``) and the two bases the parts no word (no past read)
    carries: the value biases of the news (user) encoder's self-attention, times a (0 with
    ``method="blend"``, for an empty title or an empty history). The words' faithfulness
    compares share + bias with the leave-one-out deltas.

    ``word_self_attention`` [heads, L, L] and ``history_self_attention`` [heads, H, H]
    (float32) are the per-head self-attention weights: row j, column m is how much position
    j took from input m.
    """

    score: float
    words: tuple[TokenShare, ...]
    history: tuple[HistoryShare, ...]
    faithfulness_words: float | None
    faithfulness_history: float | None
    feed: float = 0.0
    lexical: float = 0.0
    word_base: float = 0.0
    history_base: float = 0.0
    method: Method = "inputs"
    word_self_attention: np.ndarray = field(default_factory=_empty, compare=False, repr=False)
    history_self_attention: np.ndarray = field(default_factory=_empty, compare=False, repr=False)


def input_parts(
    layer: MultiHeadSelfAttention, trace: Trace
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split each pooled vector of ``trace`` over the original inputs of ``layer``.

    Returns (parts [B, L, D], constant [B, D], reach [B, L]) with
    ``parts.sum(1) + constant == trace.vector`` to rounding: part m is, per head k,
    (Σ_j w_j a^{(k)}_{jm}) V^{(k)} x_m with w the additive weights; the constant is the value
    bias times Σ_m of those weights (1 per head, 0 where no input is real); reach is those
    weights averaged over the heads. Pad inputs get zero parts.
    """
    flow = torch.einsum("bj,bkjm->bkm", trace.attention, trace.self_attention)  # [B, heads, L]
    linear, bias = layer.values(trace.inputs)  # [B, L, heads, hd], [heads, hd]
    parts = flow.transpose(1, 2).unsqueeze(-1) * linear  # [B, L, heads, hd]
    constant = flow.sum(-1).unsqueeze(-1) * bias  # [B, heads, hd]
    b, length = trace.mask.shape
    return parts.reshape(b, length, -1), constant.reshape(b, -1), flow.mean(1)


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


def rescore(
    model: NRMS,
    candidate: Sequence[int],
    history: Sequence[Sequence[int]],
    device: torch.device,
    *,
    erase_words: Sequence[Sequence[int]] = (),
    drop_reads: Sequence[Sequence[int]] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """a·uᵀr_c after erasures: leave-one-out and deletion curves re-score with this.

    Args:
        model: the NRMS model on ``device`` (put in eval mode here).
        candidate: the candidate's token ids (L).
        history: token ids of past reads, oldest first (H).
        erase_words: sets of title positions; each set is erased (masked) and the rest of
            the title re-encoded, scored against the full history's user.
        drop_reads: sets of history positions; each set is dropped and the user re-encoded
            from the rest, scored against the full title.

    Returns:
        (scores after each word set [len(erase_words)], after each read set
        [len(drop_reads)]), float64; erasing every word (dropping every read) gives 0.
    """
    model.eval()
    with torch.inference_mode():
        r_c = model.encode_news(_pad([candidate], device))[0]  # [D]
        hist_vectors = model.encode_news(_pad(history, device))[: len(history)]  # [H, D]
        mask = torch.ones(1, len(history), dtype=torch.bool, device=device)  # [1, H]
        u = model.encode_user(hist_vectors.unsqueeze(0), mask)[0]  # [D]
        scale = model.score_scale.to(u.dtype)  # [] a
        by_words = u.new_zeros(len(erase_words))  # [S]
        if erase_words:
            gone = [set(e) for e in erase_words]
            rows = [[t for j, t in enumerate(candidate) if j not in g] for g in gone]
            by_words = scale * (model.encode_news(_pad(rows, device)) @ u)  # [S]
        by_reads = u.new_zeros(len(drop_reads))  # [S]
        if drop_reads and history:
            dropped = [set(d) for d in drop_reads]
            kept = [[i for i in range(len(history)) if i not in d] for d in dropped]
            width = max(1, *(len(k) for k in kept))
            index = torch.zeros(len(kept), width, dtype=torch.long, device=device)  # [S, H']
            keep = torch.zeros(len(kept), width, dtype=torch.bool, device=device)  # [S, H']
            for row, positions in enumerate(kept):
                index[row, : len(positions)] = torch.tensor(positions, dtype=torch.long)
                keep[row, : len(positions)] = True
            users = model.encode_user(hist_vectors[index], keep)  # [S, D]
            by_reads = scale * (users @ r_c)  # [S]
    return by_words.double().cpu().numpy(), by_reads.double().cpu().numpy()


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
    method: Method = "inputs",
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
        method: ``inputs`` (shares of the original words and past reads) or ``blend``
            (shares of the self-attention outputs; see the module docstring).
    """
    if len(candidate) != len(tokens):
        raise ValueError("candidate ids and tokens differ in length")
    if method not in ("inputs", "blend"):
        raise ValueError(f"unknown explanation method {method!r}")
    lexical = np.zeros(len(tokens)) if word_bias is None else np.asarray(word_bias, np.float64)
    lexical_loo = (
        np.zeros(len(tokens)) if word_bias_loo is None else np.asarray(word_bias_loo, np.float64)
    )
    if lexical.shape != (len(tokens),) or lexical_loo.shape != (len(tokens),):
        raise ValueError("one word bias and one leave-one-out bias per token expected")
    n_words, n_hist = len(candidate), len(history)
    model.eval()
    with torch.inference_mode():
        news = model.news_encoder.trace(_pad([candidate], device))
        r_c = news.vector[0]  # [D]
        hist_vectors = model.encode_news(_pad(history, device))[:n_hist]  # [H, D]
        mask = torch.ones(1, n_hist, dtype=torch.bool, device=device)  # [1, H]
        user = model.user_encoder.trace(hist_vectors.unsqueeze(0), mask)
        u = user.vector[0]  # [D]
        scale = model.score_scale.to(u.dtype)  # [] a
        feed = float(model.source_bias[candidate[0]]) if n_words else 0.0  # b_f
        raw = scale * (u @ r_c)  # [] a·uᵀr_c
        parts, constant, reach = input_parts(model.news_encoder.self_attention, news)
        word_reach = reach[0, :n_words]  # [L]
        if method == "inputs":
            word_share = scale * (parts[0, :n_words] @ u)  # [L]
            word_base = scale * (constant[0] @ u)  # []
        else:
            word_share = scale * news.attention[0, :n_words] * (news.outputs[0, :n_words] @ u)
            word_base = raw.new_zeros(())  # []
        hist_share = hist_reach = raw.new_zeros(n_hist)  # [H]
        hist_base = raw.new_zeros(())  # []
        if n_hist:
            past, base, reach = input_parts(model.user_encoder.self_attention, user)
            hist_reach = reach[0]  # [H]
            if method == "inputs":
                hist_share = scale * (past[0] @ r_c)  # [H]
                hist_base = scale * (base[0] @ r_c)  # []
            else:
                hist_share = scale * user.attention[0] * (user.outputs[0] @ r_c)  # [H]
        word_attention = news.self_attention[0, :, :n_words, :n_words].float().cpu().numpy()
        hist_attention = user.self_attention[0].float().cpu().numpy()  # [heads, H, H]
    alpha = news.attention[0, :n_words].double().cpu().numpy()  # [L]
    beta = user.attention[0].double().cpu().numpy()  # [H]
    singles = [[j] for j in range(n_words)], [[i] for i in range(n_hist)]
    after_words, after_reads = rescore(
        model, candidate, history, device, erase_words=singles[0], drop_reads=singles[1]
    )
    raw_value = float(raw)  # a·uᵀr_c, in the model's precision as the shares are
    word_loo = raw_value - after_words + lexical_loo  # [L]
    hist_loo = raw_value - after_reads  # [H]
    word_np = word_share.double().cpu().numpy()  # [L]
    hist_np = hist_share.double().cpu().numpy()  # [H]
    word_reach_np = word_reach.double().cpu().numpy()  # [L]
    hist_reach_np = hist_reach.double().cpu().numpy()  # [H]
    words = tuple(
        TokenShare(
            tokens[j],
            float(alpha[j]),
            float(word_np[j]),
            float(word_loo[j]),
            float(lexical[j]),
            float(word_reach_np[j]),
        )
        for j in range(n_words)
    )
    past_reads = tuple(
        HistoryShare(
            index_offset + i,
            float(beta[i]),
            float(hist_np[i]),
            float(hist_loo[i]),
            float(hist_reach_np[i]),
        )
        for i in range(n_hist)
    )
    return Explanation(
        score=click_score(1.0, raw_value, feed, float(lexical.sum())),  # a is in raw_value
        words=words,
        history=past_reads,
        faithfulness_words=spearman(word_np + lexical, word_loo),
        faithfulness_history=spearman(hist_np, hist_loo),
        feed=feed,
        lexical=float(lexical.sum()),
        word_base=float(word_base),
        history_base=float(hist_base),
        method=method,
        word_self_attention=word_attention,
        history_self_attention=hist_attention,
    )
