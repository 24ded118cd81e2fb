"""The reader's vocabulary and its embedding rows: how a title becomes token ids, how the
vocabulary grows, and each title's lexical click bias.

Sources: every method that takes titles also takes, optionally, each title's
source (the feed it came from; in MIND, its category). A known source becomes
one extra token, ``<src:NAME>``, placed first in the title and never cut off by
``max_title``; the news encoder attends to it like a word, so explanations give
it its own exact share. Source rows start random (scale ``config.source_std``,
never GloVe) and train at ``config.source_lr_scale`` times the learning rate.
A source the vocabulary lacks is left out, as is None: titles only. Use one
stable name per feed (e.g. its id) everywhere: warm start, fine-tune, encode,
explain and word_shares.

New words take their GloVe vector where GloVe has them (the record of which rows came
from GloVe is kept, so that training can hold them still), small random rows otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from nrms_core.click import word_parts, word_weight
from nrms_core.config import NRMSConfig
from nrms_core.glove import GloVe, load_glove
from nrms_core.model import NRMS
from nrms_core.tokenizer import (
    SOURCE_PREFIX,
    content_words,
    source_name,
    source_token,
    stopwords,
    tokenize,
)
from nrms_core.vocab import UNK, UNK_TOKEN, Vocabulary

__all__ = ["Lexicon"]

logger = logging.getLogger(__name__)


class Lexicon:
    """The vocabulary side of :class:`nrms_core.recommender.Recommender`: tokens and ids of
    titles, the vocabulary's growth and the lexical bias. A base class, never built alone:
    the Recommender's constructor sets the attributes below."""

    config: NRMSConfig
    vocab: Vocabulary
    _model: NRMS
    _pretrained: torch.Tensor  # [V] bool: the rows that came from GloVe
    _glove: bool  # whether new words look for a GloVe vector
    _cache_dir: Path | None  # where the GloVe word list is cached
    _rng: np.random.Generator  # draws the random rows of new words and sources

    def _glove_table(self) -> GloVe | None:
        if not self._glove:
            return None
        try:
            return load_glove(self._cache_dir)
        except (OSError, ImportError, ValueError) as exc:
            logger.warning("GloVe unavailable, new words get random vectors: %s", exc)
            return None

    def add_titles(self, titles: Iterable[str], sources: Iterable[str | None] | None = None) -> int:
        """Add the titles' unseen words (and sources' tokens) to the vocabulary.

        New word rows come from GloVe when the word is there, else small
        random vectors; a new source token (see :func:`source_token`) gets a
        random row of scale ``config.source_std``, never a GloVe vector.
        Existing rows are untouched. Returns how many tokens were added.
        """
        new: list[str] = []
        for title in titles:
            new += self.vocab.add(tokenize(title, self.config.max_title))
        if new:
            rows = self._rng.normal(0.0, self.config.unk_std, (len(new), self.config.embed_dim))
            rows = rows.astype(np.float32)
            found = np.zeros(len(new), dtype=bool)
            table = self._glove_table()
            if table is not None:
                vectors, found = table.lookup(new)
                if self.config.center_glove:
                    vectors -= table.mean
                rows[found] = vectors[found]
            self._grow(rows, found)
            logger.debug("vocabulary +%d words (%d from GloVe)", len(new), int(found.sum()))
        tokens = (source_token(s) for s in (sources or ()))
        fresh = self.vocab.add(t for t in tokens if t is not None)
        if fresh:
            shape = (len(fresh), self.config.embed_dim)
            rows = self._rng.normal(0.0, self.config.source_std, shape).astype(np.float32)
            self._grow(rows, np.zeros(len(fresh), dtype=bool))
            logger.debug("vocabulary +%d sources", len(fresh))
        return len(new) + len(fresh)

    def _grow(self, rows: np.ndarray, glove: np.ndarray) -> None:
        """Append embedding rows [n, E] and their from-GloVe flags [n]."""
        self._model.grow(torch.from_numpy(rows))
        self._pretrained = torch.cat([self._pretrained, torch.from_numpy(glove)])

    def _tokens(self, title: str, source: str | None = None) -> list[str]:
        """The title's tokens, led by its source token when that source is known."""
        words = tokenize(title, self.config.max_title)
        token = source_token(source)
        return [token, *words] if token is not None and token in self.vocab else words

    def _ids(self, title: str, source: str | None = None) -> list[int]:
        return self.vocab.ids(self._tokens(title, source))

    def _source_row(self, source: str | None) -> int | None:
        """The vocabulary row of ``source``'s token (None: no source, or one not in vocabulary)."""
        token = source_token(source)
        if token is None or token not in self.vocab:
            return None
        return self.vocab.ids([token])[0]

    def _source_rows(self) -> torch.Tensor:
        """[V] bool: the rows of source tokens."""
        flags = [t.startswith(SOURCE_PREFIX) for t in self.vocab.tokens()]
        return torch.tensor(flags, dtype=torch.bool)

    def _token_ids(
        self, titles: Sequence[str], sources: Sequence[str | None] | None
    ) -> list[list[int]]:
        if sources is None:
            return [self._ids(t) for t in titles]
        if len(sources) != len(titles):
            raise ValueError("titles and sources differ in length")
        return [self._ids(t, s) for t, s in zip(titles, sources, strict=True)]

    def _word_table(self) -> np.ndarray:
        """The fitted word biases v [V] float64."""
        return self._model.word_bias.detach().double().cpu().numpy()

    def _word_values(self, tokens: Sequence[str], table: np.ndarray) -> dict[str, float]:
        """The title's distinct content words, in first-seen order, and each one's bias in
        ``table`` [V] (0 for a word the vocabulary lacks: it still counts in the weight)."""
        words = content_words(tokens)
        rows = self.vocab.ids(words)
        return {w: (0.0 if r == UNK else float(table[r])) for w, r in zip(words, rows, strict=True)}

    def _word_biases(self, tokens: Sequence[str], table: np.ndarray) -> list[float]:
        """Each token's part of the lexical bias (:mod:`nrms_core.click`) under the word
        biases ``table`` [V]: a content word's first occurrence carries its Shapley part
        (:func:`nrms_core.click.word_parts`: its own bias, less the dilution it brings to
        the others), every other token 0. They sum to :meth:`_lexical_of` to rounding."""
        values = self._word_values(tokens, table)
        parts = dict(zip(values, word_parts(list(values.values())), strict=True))
        return [parts.pop(token, 0.0) for token in tokens]  # a word's first occurrence only

    def _lexical_of(self, tokens: Sequence[str], table: np.ndarray) -> float:
        """The lexical bias of a token list under the word biases ``table`` [V]: bit for bit
        what :meth:`lexical` gives (the same terms added in the same order)."""
        values = self._word_values(tokens, table)
        weight = word_weight(len(values))
        return float(sum([weight * v for v in values.values() if v != 0.0]))

    def lexical(self, titles: Sequence[str]) -> np.ndarray:
        """The fitted lexical click bias l [N] float32 of each title (see
        :mod:`nrms_core.click`; 0 until a round has fitted one).

        Equal, bit for bit, to :meth:`_lexical_of` of each title's tokens, but cheaper: that
        walks every token in Python with a numpy lookup each (about 9 µs a title, 0.9 s of CPU
        for a first For you over 100,000 articles; this, 0.6 s). Here a title none of whose
        tokens has a bias is 0 after one set test (few are: a fit biases every content word of
        the shown titles); the others add the same nonzero terms in the same order (zero terms
        change no float sum), with |W_c| from set operations over the title."""
        table = self._word_table()  # [V]
        biases = self._content_biases(table)
        if not biases:
            return np.zeros(len(titles), dtype=np.float32)
        stop = stopwords()
        limit = self.config.max_title
        weights = [word_weight(n) for n in range(limit + 1)]  # a title has ≤ limit words
        values: list[float] = []
        for title in titles:
            tokens = tokenize(title, limit)
            if biases.keys().isdisjoint(tokens):
                values.append(0.0)
                continue
            weight = weights[_content_count(tokens, stop)]
            # the biased words in first-seen order, as _word_biases adds them
            values.append(sum([weight * biases[t] for t in dict.fromkeys(tokens) if t in biases]))
        return np.array(values, dtype=np.float32)

    def _content_biases(self, table: np.ndarray) -> dict[str, float]:
        """The content words with a nonzero bias in ``table`` [V] (NaN included) and those
        biases: the only words that can give a title a lexical bias (a stopword's, a source
        token's or UNK's row never counts, see :meth:`_word_biases`)."""
        rows = np.flatnonzero(table)  # [K]
        stop = stopwords()
        words = zip(map(self.vocab.token, rows.tolist()), table[rows].tolist(), strict=True)
        return {
            token: bias
            for token, bias in words
            if token != UNK_TOKEN and token not in stop and source_name(token) is None
        }


def _content_count(tokens: Sequence[str], stop: frozenset[str]) -> int:
    """|W_c|, as ``len(content_words(tokens))``: the distinct tokens less the stopwords among
    them (two set operations over the title, not a test of each token in Python) and less
    the source tokens, which the tokeniser never yields; the joined test is exact all the
    same (a token that starts with the prefix puts it in the join)."""
    distinct = set(tokens)
    if SOURCE_PREFIX in "".join(distinct):
        return len(content_words(tokens))
    return len(distinct) - len(stop.intersection(distinct))
