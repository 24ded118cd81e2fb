"""NRMS (Wu et al., EMNLP 2019) with padding masks at both levels.

Shapes: N titles of L words, B users with H history slots, C candidates per
user, E word-embedding size (50), D = heads * head_dim news/user size (256).
Every forward returns what it computes, including the attention weights and
the pre-pooling vectors, so that explanations are exact: ``r = Σ_j α_j h^w_j``
and ``u = Σ_i β_i h_i`` hold to rounding. Each encoder's ``trace`` also returns
its inputs and per-head self-attention weights, and the self-attention layer
splits its value projection into a linear part and a bias (``values``): with no
residual, feed-forward or output projection, r and u are then linear in the
original words' embeddings and the past reads' vectors (:mod:`nrms_core.explain`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional

from nrms_core.config import NRMSConfig
from nrms_core.vocab import PAD

__all__ = [
    "NRMS",
    "AdditiveAttention",
    "MultiHeadSelfAttention",
    "NewsEncoder",
    "NewsOutput",
    "Trace",
    "UserEncoder",
    "UserOutput",
    "masked_softmax",
]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis that gives exactly zero weight where ``mask`` is False.

    Args:
        scores: [..., L] float.
        mask: bool, broadcastable to ``scores``; a row with no True gets all-zero weights.
    """
    scores = scores.masked_fill(~mask, float("-inf"))  # [..., L]
    none_valid = ~mask.any(dim=-1, keepdim=True)  # [..., 1]
    scores = scores.masked_fill(none_valid, 0.0)  # avoid NaN on empty rows
    weights = torch.softmax(scores, dim=-1)  # [..., L]
    return weights * mask.to(weights.dtype)  # empty rows -> 0


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention whose heads are concatenated (no output projection)."""

    def __init__(self, in_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim
        out_dim = heads * head_dim
        self.query = nn.Linear(in_dim, out_dim)
        self.key = nn.Linear(in_dim, out_dim)
        self.value = nn.Linear(in_dim, out_dim)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, index: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x [B, L, in_dim], mask [B, L] bool (True = real) -> [B, L, heads*head_dim].

        With ``index`` [B, L], ``x`` is [U, in_dim] and row b, l is ``x[index[b, l]]``:
        each distinct row is projected once before it is gathered (same result).

        Without gradients (encoding, scoring) and with a real input in every row, torch's
        fused attention computes it (the same numbers to ~1e-7): it never builds the
        [B, heads, L, L] weights and their masked copies, which held about 110 MiB of the model
        process's peak while it encoded 100,000 titles. Training keeps the explicit form, and
        so its gradients. A batch without padding (every input real, as an encode's
        same-length batches are) is attended without a mask, which the fused kernel computes
        in about two thirds of the time (the same softmax over the same inputs).
        """
        if torch.is_grad_enabled():
            return self.attend(x, mask, index)[0]
        full = bool(mask.all())
        if not full and not bool(mask.any(dim=-1).all()):
            return self.attend(x, mask, index)[0]
        q, k, v = self._heads(x, mask, index)  # [B, heads, L, head_dim] each
        where = None if full else mask[:, None, None, :]  # [B, 1, 1, L]
        out = functional.scaled_dot_product_attention(q, k, v, attn_mask=where)
        b, length = mask.shape
        return out.transpose(1, 2).reshape(b, length, self.heads * self.head_dim)  # [B, L, D]

    def attend(
        self, x: torch.Tensor, mask: torch.Tensor, index: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`forward` computes, with its attention weights: (output [B, L, D],
        weights [B, heads, L, L]), where ``weights[b, k, j, m]`` is how much output j takes
        from input m in head k (rows sum to 1 over real inputs, 0 where nothing is real)."""
        q, k, v = self._heads(x, mask, index)  # [B, heads, L, head_dim] each
        b, length = mask.shape
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)  # [B, heads, L, L]
        weights = masked_softmax(scores, mask[:, None, None, :])  # [B, heads, L, L]
        out = (weights @ v).transpose(1, 2)  # [B, L, heads, head_dim]
        return out.reshape(b, length, self.heads * self.head_dim), weights  # [B, L, D]

    def _heads(
        self, x: torch.Tensor, mask: torch.Tensor, index: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The queries, keys and values of ``x`` (as in :meth:`forward`), split by head: three
        views [B, heads, L, head_dim]."""
        shape = (*mask.shape, self.heads, self.head_dim)
        if index is not None and not torch.is_grad_enabled():
            # one projection of the distinct rows and one gather, not three of each
            weight = torch.cat([self.query.weight, self.key.weight, self.value.weight])
            bias = torch.cat([self.query.bias, self.key.bias, self.value.bias])  # [3D]
            qkv = functional.linear(x, weight, bias)[index]  # [B, L, 3D]
            heads = qkv.view(*mask.shape, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            return heads[0], heads[1], heads[2]  # [B, heads, L, head_dim] each
        q: torch.Tensor = self.query(x)  # [B, L, D] or [U, D]
        k: torch.Tensor = self.key(x)  # [B, L, D] or [U, D]
        v: torch.Tensor = self.value(x)  # [B, L, D] or [U, D]
        if index is not None:
            q, k, v = q[index], k[index], v[index]  # [B, L, D]
        q = q.view(shape).transpose(1, 2)  # [B, heads, L, head_dim]
        k = k.view(shape).transpose(1, 2)  # [B, heads, L, head_dim]
        v = v.view(shape).transpose(1, 2)  # [B, heads, L, head_dim]
        return q, k, v

    def values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The value projection split into its linear part and its bias, per head:
        (V x [..., heads, head_dim], c [heads, head_dim]), so that value(x) = V x + c.

        With the weights of :meth:`attend` held fixed, output j of head k is
        Σ_m weights[k, j, m] V^{(k)} x_m + c^{(k)}: linear in the inputs, which is what
        :mod:`nrms_core.explain` decomposes."""
        linear = x @ self.value.weight.T  # [..., D]
        per_head = linear.view(*x.shape[:-1], self.heads, self.head_dim)  # [..., heads, hd]
        return per_head, self.value.bias.view(self.heads, self.head_dim)  # [heads, hd]


class AdditiveAttention(nn.Module):
    """a_i = qᵀ tanh(W h_i + b); weights = masked softmax of a; pooled = Σ_i w_i h_i."""

    def __init__(self, in_dim: int, query_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, query_dim)
        self.query = nn.Parameter(torch.empty(query_dim).normal_(0.0, 0.1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h [B, L, in_dim], mask [B, L] -> (pooled [B, in_dim], weights [B, L]).

        Without gradients the pooling is one batched product (the same sum to ~1e-7), not a
        [B, L, in_dim] product summed: a tenth of encoding's time; and where every input is
        real, the weights are a plain softmax (what the masked one gives then, bit for bit).
        Training keeps the sum."""
        if torch.is_grad_enabled():
            logits = torch.tanh(self.proj(h)) @ self.query  # [B, L]
            weights = masked_softmax(logits, mask)  # [B, L]
            return (weights.unsqueeze(-1) * h).sum(dim=1), weights  # [B, in_dim], [B, L]
        return _pooled(self.proj(h).tanh_() @ self.query, h, mask)  # logits [B, L]

    def pool(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`forward` gives without gradients (to ~2e-7), in less time: encoding's
        pooling, never the trace's or training's.

        tanh(x) = 2σ(2x) − 1, so the logits are 2·qᵀσ(2(W h_i + b)) less qᵀ1, a constant the
        softmax does not see; doubling W, b and q is exact. torch's sigmoid takes a sixth of
        its tanh's time, and the tanh was a fifth of encoding 100,000 titles."""
        weight, bias = self.proj.weight * 2.0, self.proj.bias * 2.0  # [Q, in_dim], [Q]
        gates = functional.linear(h, weight, bias).sigmoid_()  # [B, L, Q]
        return _pooled(gates @ (self.query * 2.0), h, mask)  # logits [B, L]


def _pooled(
    logits: torch.Tensor, h: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Additive pooling without gradients: (Σ_i w_i h_i [B, in_dim], w [B, L]) for logits
    [B, L] over h [B, L, in_dim]; a plain softmax where every input is real (what the masked
    one gives then, bit for bit) and one batched product for the sum."""
    weights = torch.softmax(logits, dim=-1) if bool(mask.all()) else masked_softmax(logits, mask)
    return torch.bmm(weights.unsqueeze(1), h).squeeze(1), weights  # [B, in_dim], [B, L]


class NewsOutput(NamedTuple):
    """News encoder output: r [N, D], word weights alpha [N, L], word vectors h [N, L, D]."""

    vector: torch.Tensor
    attention: torch.Tensor
    words: torch.Tensor


class UserOutput(NamedTuple):
    """User encoder output: u [B, D], history weights beta [B, H], vectors h [B, H, D]."""

    vector: torch.Tensor
    attention: torch.Tensor
    history: torch.Tensor


class Trace(NamedTuple):
    """One encoder's pass with everything the input-level decomposition needs (eval mode).

    inputs x [B, L, in_dim] (the title's word embeddings, or the past reads' news vectors),
    mask [B, L] bool, self-attention weights [B, heads, L, L] (see
    :meth:`MultiHeadSelfAttention.attend`), its outputs h [B, L, D], the additive weights
    [B, L] (α or β) and the pooled vector [B, D] (r or u), equal to the encoder's forward (to ~1e-7
    without gradients, where the forward takes torch's fused attention).
    """

    inputs: torch.Tensor
    mask: torch.Tensor
    self_attention: torch.Tensor
    outputs: torch.Tensor
    attention: torch.Tensor
    vector: torch.Tensor


class NewsEncoder(nn.Module):
    """Word embeddings -> dropout -> multi-head self-attention -> dropout -> additive attention."""

    def __init__(self, config: NRMSConfig, vocab_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.self_attention = MultiHeadSelfAttention(
            config.embed_dim, config.heads, config.head_dim
        )
        self.attention = AdditiveAttention(config.news_dim, config.query_dim)
        with torch.no_grad():  # news vectors of norm ~1, so initial scores do not saturate
            self.self_attention.value.weight.mul_(0.25)
            # no constant offset shared by every news vector: a dot product with a
            # mean of history vectors would otherwise mostly measure that offset
            self.self_attention.value.bias.zero_()

    def forward(self, tokens: torch.Tensor) -> NewsOutput:
        """tokens [N, L] int64 (PAD=0 is masked) -> NewsOutput.

        In eval mode without gradients each distinct token's queries, keys and values are
        computed once and gathered (the same vectors): the three projections were a quarter
        of encoding 100,000 titles' time, and a batch of titles repeats most of its words."""
        mask = tokens != PAD  # [N, L]
        if not self.training and not torch.is_grad_enabled():
            distinct, index = torch.unique(tokens, return_inverse=True)  # [U], [N, L]
            h = self.self_attention(self.embedding(distinct), mask, index)  # [N, L, D]
            r, alpha = self.attention.pool(h, mask)  # [N, D], [N, L]
            return NewsOutput(r, alpha, h)
        e = self.dropout(self.embedding(tokens))  # [N, L, E]
        h = self.dropout(self.self_attention(e, mask))  # [N, L, D]
        r, alpha = self.attention(h, mask)  # [N, D], [N, L]
        return NewsOutput(r, alpha, h)

    def trace(self, tokens: torch.Tensor) -> Trace:
        """tokens [N, L] -> the forward pass with its inputs and self-attention weights
        (dropout applies as in forward, so call it in eval mode)."""
        mask = tokens != PAD  # [N, L]
        e = self.dropout(self.embedding(tokens))  # [N, L, E]
        out, weights = self.self_attention.attend(e, mask)  # [N, L, D], [N, heads, L, L]
        h = self.dropout(out)  # [N, L, D]
        r, alpha = self.attention(h, mask)  # [N, D], [N, L]
        return Trace(e, mask, weights, h, alpha, r)


class UserEncoder(nn.Module):
    """Multi-head self-attention over clicked news vectors -> additive attention -> u.

    Initialised so that each h_i starts close to its own news vector r_i
    (value = identity, query = key = identity) and the additive attention is
    nearly uniform: an untrained user vector is about the mean of the history.
    """

    def __init__(self, config: NRMSConfig) -> None:
        super().__init__()
        dim = config.news_dim
        self.self_attention = MultiHeadSelfAttention(dim, config.heads, config.head_dim)
        self.attention = AdditiveAttention(dim, config.query_dim)
        with torch.no_grad():
            for layer in (
                self.self_attention.query,
                self.self_attention.key,
                self.self_attention.value,
            ):
                layer.weight.copy_(torch.eye(dim))
                layer.bias.zero_()
            self.self_attention.query.weight.add_(torch.randn(dim, dim) * 0.01)
            self.self_attention.key.weight.add_(torch.randn(dim, dim) * 0.01)
            self.attention.query.mul_(0.1)

    def forward(
        self, news: torch.Tensor, mask: torch.Tensor, index: torch.Tensor | None = None
    ) -> UserOutput:
        """news [B, H, D] (oldest first), mask [B, H] bool -> UserOutput; H=0 gives u = 0.

        With ``index`` [B, H], ``news`` is [U, D] distinct vectors and the
        history is ``news[index]`` (projected once per distinct vector).
        """
        b, depth = mask.shape
        if depth == 0:
            zero = news.new_zeros(b, news.shape[-1])  # [B, D]
            return UserOutput(zero, news.new_zeros(b, 0), news.new_zeros(b, 0, news.shape[-1]))
        h = self.self_attention(news, mask, index)  # [B, H, D]
        u, beta = self.attention(h, mask)  # [B, D], [B, H]
        return UserOutput(u, beta, h)

    def trace(self, news: torch.Tensor, mask: torch.Tensor) -> Trace:
        """news [B, H, D], mask [B, H] -> the forward pass with its inputs and self-attention
        weights; H=0 gives u = 0 and empty weights, as forward does."""
        b, depth = mask.shape
        heads = self.self_attention.heads
        if depth == 0:
            dim = news.shape[-1]
            return Trace(
                news.new_zeros(b, 0, dim),
                mask,
                news.new_zeros(b, heads, 0, 0),
                news.new_zeros(b, 0, dim),
                news.new_zeros(b, 0),
                news.new_zeros(b, dim),
            )
        h, weights = self.self_attention.attend(news, mask)  # [B, H, D], [B, heads, H, H]
        u, beta = self.attention(h, mask)  # [B, D], [B, H]
        return Trace(news, mask, weights, h, beta, u)


class NRMS(nn.Module):
    """News and user encoders, and the fitted terms of the click score
    (:func:`nrms_core.click.click_score`), with b looked up at a title's first token.

    ``score_scale`` (a, a scalar buffer, 1 until fitted), ``source_bias`` (b [V], a buffer,
    0 until fitted) and ``word_bias`` (v [V], likewise) are the click biases of
    :mod:`nrms_core.bias`: only the rows of source tokens, which always come first in a
    title, are ever non-zero in b, so a title without a known source gets no feed bias, and
    only rows of content words (:func:`nrms_core.tokenizer.content_words`) in v. All three
    are fitted after training, not by it: training (``forward``) optimises the paper's uᵀr
    alone, so that a bias fitted in one round never skews what the next round learns.
    """

    score_scale: torch.Tensor
    source_bias: torch.Tensor
    word_bias: torch.Tensor

    def __init__(self, config: NRMSConfig, vocab_size: int) -> None:
        super().__init__()
        self.config = config
        self.bucket = 64  # titles per length group when a batch is encoded
        self.news_encoder = NewsEncoder(config, vocab_size)
        self.user_encoder = UserEncoder(config)
        self.register_buffer("score_scale", torch.ones(()))
        self.register_buffer("source_bias", torch.zeros(vocab_size))
        self.register_buffer("word_bias", torch.zeros(vocab_size))

    @property
    def embedding(self) -> nn.Embedding:
        """The word-embedding table [V, E]."""
        return self.news_encoder.embedding

    @property
    def vocab_size(self) -> int:
        """Rows V of the embedding table."""
        return int(self.embedding.num_embeddings)

    def grow(self, rows: torch.Tensor) -> None:
        """Append embedding rows [n, E] for new vocabulary entries; old rows stay as they are."""
        old = self.embedding.weight  # [V, E]
        weight = torch.cat([old.detach(), rows.to(old.device, old.dtype)])  # [V + n, E]
        self.embedding.weight = nn.Parameter(weight, requires_grad=old.requires_grad)
        self.embedding.num_embeddings = int(weight.shape[0])
        bias = self.source_bias.new_zeros(len(rows))  # [n] new rows have no bias yet
        self.source_bias = torch.cat([self.source_bias, bias])  # [V + n]
        self.word_bias = torch.cat([self.word_bias, bias])  # [V + n]

    def encode_news(self, tokens: torch.Tensor, *, bucket: int = 0) -> torch.Tensor:
        """tokens [N, L] -> news vectors r [N, D].

        With ``bucket > 0`` the titles are encoded in groups of ``bucket`` of
        similar length, each cut to its own longest title: the same vectors
        with less padding to compute over.
        """
        if bucket <= 0 or tokens.shape[0] <= bucket:
            output: NewsOutput = self.news_encoder(tokens)
            return output.vector
        positions = torch.arange(1, tokens.shape[1] + 1, device=tokens.device)  # [L]
        extent = ((tokens != PAD) * positions).amax(dim=1)  # [N] last real word + 1
        order = torch.argsort(extent)  # [N]
        parts = []
        for start in range(0, len(order), bucket):
            chunk = order[start : start + bucket]  # [n]
            width = max(1, int(extent[chunk[-1]]))
            parts.append(self.news_encoder(tokens[chunk, :width]).vector)  # [n, D]
        r = torch.cat(parts)  # [N, D] in length order
        return r[torch.argsort(order)]  # [N, D]

    def encode_user(self, news: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """news [B, H, D], mask [B, H] -> user vectors u [B, D]."""
        output: UserOutput = self.user_encoder(news, mask)
        return output.vector

    @staticmethod
    def score(user: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """user [B, D], candidates [B, C, D] -> click scores [B, C]."""
        return (candidates @ user.unsqueeze(-1)).squeeze(-1)  # [B, C]

    def forward(
        self,
        tokens: torch.Tensor,
        history: torch.Tensor,
        history_mask: torch.Tensor,
        candidates: torch.Tensor,
    ) -> torch.Tensor:
        """Score a batch whose titles are encoded once each.

        Args:
            tokens: [U, L] distinct titles of the batch.
            history: [B, H] int64 rows of ``tokens`` (any valid row where masked).
            history_mask: [B, H] bool, True for real history slots.
            candidates: [B, C] int64 rows of ``tokens``; column 0 is the positive.

        Returns:
            logits [B, C]: uᵀr, what training optimises; the fitted ``a`` and ``b`` apply
            when ranking and explaining (see the class docstring).
        """
        r = self.encode_news(tokens, bucket=self.bucket)  # [U, D]
        user: UserOutput = self.user_encoder(r, history_mask, history)  # u [B, D]
        return self.score(user.vector, r[candidates])  # [B, C]
