"""Inference: news vectors of titles, the reader's vector of their past reads, and the click
scores of one against the other (:mod:`nrms_core.click`)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

from nrms_core.click import click_score
from nrms_core.lexicon import Lexicon

__all__ = ["ATTENTION_CELLS", "Inference", "length_batches"]

ATTENTION_CELLS = 1024 * 20 * 20
"""Most n·L² per encoded batch (see :func:`length_batches`): batches of 1,024 titles up to 20
tokens long, fewer of longer ones (455 at 30)."""


def length_batches(
    rows: Sequence[Sequence[int]],
    indices: Iterable[int],
    batch_size: int,
    *,
    cells: int = 0,
    same_length: bool = False,
) -> Iterator[tuple[list[int], np.ndarray]]:
    """The token-id lists ``rows[i]`` for i in ``indices``, shortest first, in padded batches
    of at most ``batch_size``: each batch's indices [n] and token ids [n, L] int64, L its
    longest list (at least 1), PAD (0) after each list's end. With ``cells > 0`` a batch also
    keeps n·L² (the size of one head's self-attention weights over it) at most ``cells``.
    With ``same_length`` every list of a batch has the same length (a batch ends where the
    length changes), so no batch holds padding unless its lists are empty.

    Why: titles of like length share a batch, so the encoder computes over little padding;
    and the longest titles come in smaller batches, so the attention weights, which grow
    with the square of the length, never make the peak memory of a large encode. Without
    padding the encoder needs no mask (:meth:`nrms_core.model.MultiHeadSelfAttention.forward`),
    and titles have some twenty lengths, so a large encode's batches stay about as large."""
    order = sorted(indices, key=lambda i: len(rows[i]))
    lengths = [len(rows[i]) for i in order]
    step = max(1, batch_size)
    start = 0
    while start < len(order):
        end = min(len(order), start + step)
        if same_length and lengths[end - 1] != lengths[start]:  # the first of a longer length
            end = bisect.bisect_right(lengths, lengths[start], start, end)
        if cells > 0:  # shortest first, so a cut batch's longest is no longer than this
            longest = max(1, lengths[end - 1])
            end = min(end, start + max(1, cells // longest**2))
        chunk = order[start:end]
        width = max(1, len(rows[chunk[-1]]))
        if lengths[start] == width:  # no padding: one conversion of the whole batch
            tokens = np.array([rows[i] for i in chunk], dtype=np.int64)  # [n, L]
        else:
            tokens = np.zeros((len(chunk), width), dtype=np.int64)  # [n, L]
            for row, i in enumerate(chunk):
                tokens[row, : len(rows[i])] = rows[i]
        yield chunk, tokens
        start = end


class Inference(Lexicon):
    """The scoring side of :class:`nrms_core.recommender.Recommender` (a base class, never
    built alone): encoding and click scores in eval mode, nothing trained."""

    _device: torch.device

    def encode(
        self,
        titles: Sequence[str],
        sources: Sequence[str | None] | None = None,
        *,
        batch_size: int = 1024,
        cells: int = ATTENTION_CELLS,
    ) -> np.ndarray:
        """News vectors [N, D] float32 in eval mode.

        ``sources[i]`` (e.g. the feed's name) puts the source token first in
        title i; a source or word the vocabulary lacks is left out (words map
        to UNK; see add_titles). None: titles only. ``cells`` bounds each
        batch's n·L² (:func:`length_batches`; 0: only ``batch_size``).
        """
        ids = self._token_ids(titles, sources)
        out = np.zeros((len(ids), self.config.news_dim), dtype=np.float32)
        self._model.eval()
        with torch.inference_mode():
            batches = length_batches(
                ids, range(len(ids)), batch_size, cells=cells, same_length=True
            )
            for chunk, tokens in batches:
                batch = torch.from_numpy(tokens).to(self._device)  # [n, L]
                vectors = self._model.encode_news(batch)  # [n, D]
                out[chunk] = vectors.float().cpu().numpy()
        return out

    def user_vector(self, history: np.ndarray) -> np.ndarray:
        """History news vectors [H, D], oldest first (last max_history used) -> u [D]."""
        hist = np.asarray(history, dtype=np.float32).reshape(-1, self.config.news_dim)
        hist = hist[len(hist) - min(len(hist), self.config.max_history) :]
        self._model.eval()
        with torch.inference_mode():
            news = torch.from_numpy(np.ascontiguousarray(hist)).to(self._device)[None]  # [1,H,D]
            mask = torch.ones(1, news.shape[1], dtype=torch.bool, device=self._device)
            u = self._model.encode_user(news, mask)[0]  # [D]
        return u.float().cpu().numpy()

    @property
    def scale(self) -> float:
        """The fitted scale ``a`` of uᵀr in the click score (1 until a feed bias is fitted)."""
        return float(self._model.score_scale)

    def source_bias(self, sources: Sequence[str | None]) -> np.ndarray:
        """The fitted feed bias ``b`` [N] float32 of articles from these sources (0 for None, a
        source the vocabulary lacks, or one no bias was fitted for)."""
        table = self._model.source_bias.detach().float().cpu().numpy()  # [V]
        out = np.zeros(len(sources), dtype=np.float32)
        for i, source in enumerate(sources):
            row = self._source_row(source)
            if row is not None:
                out[i] = table[row]
        return out

    def score(
        self,
        user: np.ndarray,
        news: np.ndarray,
        sources: Sequence[str | None] | None = None,
        titles: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Click scores (:func:`nrms_core.click.click_score`) [N] of news vectors [N, D] for
        the user vector [D]; the feed bias comes from ``sources`` [N] (None: no feed bias),
        the lexical bias from ``titles`` [N] (None: none)."""
        matrix = np.asarray(news, dtype=np.float32).reshape(-1, self.config.news_dim)
        raw = matrix @ np.asarray(user, dtype=np.float32)  # [N]
        for given in (sources, titles):
            if given is not None and len(given) != len(raw):
                raise ValueError("news and their sources or titles differ in length")
        bias = self.source_bias(sources) if sources is not None else 0.0
        lexical = self.lexical(titles) if titles is not None else 0.0
        return np.asarray(click_score(self.scale, raw, bias, lexical), dtype=np.float32)
