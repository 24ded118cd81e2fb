"""The facade the application uses: plain strings, ints and numpy arrays in and out.

A Recommender owns one NRMS model, its growing vocabulary and the record of
which embedding rows came from GloVe. Its jobs live in one module each, as the
classes it is built on: the vocabulary, its growth and sources
(:mod:`nrms_core.lexicon`), encoding and click scores (:mod:`nrms_core.inference`;
the score itself is defined in :mod:`nrms_core.click`), the click biases
(:mod:`nrms_core.calibration`) and the training rounds (:mod:`nrms_core.rounds`).
This module adds building, saving and loading, and explanations.

A Recommender is not thread-safe: train on one instance (e.g. one loaded from
the last checkpoint in a worker thread) and rank with another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from nrms_core import checkpoint
from nrms_core.click import click_score
from nrms_core.config import NRMSConfig
from nrms_core.device import resolve_device
from nrms_core.explain import Explanation, Method, explain, input_parts, rescore
from nrms_core.glove import load_glove
from nrms_core.inference import length_batches
from nrms_core.model import NRMS
from nrms_core.rounds import Rounds
from nrms_core.vocab import Vocabulary

__all__ = ["Recommender"]


class Recommender(Rounds):
    """NRMS ranking and training for one reader. Build with :meth:`create` or :meth:`load`."""

    def __init__(
        self,
        config: NRMSConfig,
        vocab: Vocabulary,
        model: NRMS,
        pretrained: torch.Tensor,
        *,
        device: torch.device,
        glove: bool,
        cache_dir: Path | None = None,
        meta: Mapping[str, object] | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.vocab = vocab
        self._model = model
        self._pretrained = pretrained.to("cpu", torch.bool)  # [V]
        self._device = device
        self._glove = glove
        self._cache_dir = cache_dir
        self._meta: dict[str, object] = dict(meta or {})
        self._rng = np.random.default_rng(seed)
        self.feed_prior = {}
        self.word_prior = {}
        self.word_ease = 1.0
        self.feed_hold = 1.0
        model.eval()

    @classmethod
    def create(
        cls,
        config: NRMSConfig | None = None,
        *,
        device: str | None = None,
        seed: int = 0,
        pretrained: bool = True,
        cache_dir: Path | None = None,
    ) -> Recommender:
        """A fresh model; ``pretrained=False`` uses random word vectors (fast, for tests)."""
        config = config or NRMSConfig()
        dev = resolve_device(device)
        if pretrained:
            load_glove(cache_dir)  # fail early, and warm the cache
        vocab = Vocabulary()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = NRMS(config, len(vocab))
            with torch.no_grad():
                model.embedding.weight.normal_(0.0, config.unk_std)
                model.embedding.weight[0].zero_()
        flags = torch.zeros(len(vocab), dtype=torch.bool)
        return cls(
            config,
            vocab,
            model.to(dev),
            flags,
            device=dev,
            glove=pretrained,
            cache_dir=cache_dir,
            seed=seed,
        )

    @classmethod
    def load(
        cls, path: Path, *, device: str | None = None, cache_dir: Path | None = None
    ) -> Recommender:
        """Load a checkpoint written by :meth:`save`; raises checkpoint.CheckpointError.

        ``cache_dir`` is where the GloVe word list is cached for words added later.
        """
        data = checkpoint.load(path)  # nobody else holds it: no copy needed
        return cls.from_checkpoint(data, device=device, cache_dir=cache_dir, copy=False)

    @classmethod
    def from_checkpoint(
        cls,
        data: checkpoint.Checkpoint,
        *,
        device: str | None = None,
        cache_dir: Path | None = None,
        copy: bool = True,
    ) -> Recommender:
        """The model of a checkpoint already read and checked, as :meth:`load` gives it.

        With ``copy`` it shares nothing that changes with ``data`` (the vocabulary and the
        GloVe rows are copied, about 25 ms at 60,000 words; the weights are always loaded
        into a new model), so one checkpoint read once can start many models: the
        evaluator's readers each fine-tune their own copy of the base.
        """
        dev = resolve_device(device)
        model = NRMS(data.config, len(data.vocab))
        model.load_state_dict(dict(data.state))
        return cls(
            data.config,
            Vocabulary.from_tokens(data.vocab.tokens()) if copy else data.vocab,
            model.to(dev),
            data.pretrained.clone() if copy else data.pretrained,
            device=dev,
            glove=data.glove,
            cache_dir=cache_dir,
            meta=data.meta,
        )

    def save(self, path: Path, *, meta: Mapping[str, object] | None = None) -> str:
        """Write the model atomically (``meta`` replaces the stored metadata); returns sha256."""
        if meta is not None:
            self._meta = dict(meta)
        return checkpoint.save(
            Path(path),
            config=self.config,
            vocab=self.vocab,
            state=self._model.state_dict(),
            pretrained=self._pretrained,
            glove=self._glove,
            meta=self._meta,
        )

    @property
    def meta(self) -> Mapping[str, object]:
        """Metadata stored with the checkpoint (a copy)."""
        return dict(self._meta)

    @property
    def device(self) -> str:
        """The torch device the model lives on, e.g. ``"cpu"`` or ``"cuda:0"``."""
        return str(self._device)

    @property
    def model(self) -> NRMS:
        """The underlying torch module (for nrms_core's own tools and benchmarks)."""
        return self._model

    def explain(
        self,
        candidate: str,
        history: Sequence[str],
        candidate_source: str | None = None,
        history_sources: Sequence[str | None] | None = None,
        *,
        method: Method = "inputs",
    ) -> Explanation:
        """Exact shares of the candidate's score: one per original title word, one per past
        read, and the bases no word or read carries (see explain.py).

        Only the last ``max_history`` titles count; HistoryShare.index is the
        position in ``history`` as given. With a known ``candidate_source``
        its token (``<src:NAME>``) leads the words and has its own share.
        ``method="blend"`` gives the shares of the self-attention outputs instead.
        """
        tokens = self._tokens(candidate, candidate_source)
        offset = max(0, len(history) - self.config.max_history)
        past = self._token_ids(history, history_sources)[offset:]
        table = self._word_table()
        lexical = self._lexical_of(tokens, table)
        word_bias_loo = [  # how much the lexical bias drops when token j is erased
            lexical - self._lexical_of([t for k, t in enumerate(tokens) if k != j], table)
            for j in range(len(tokens))
        ]
        return explain(
            self._model,
            self.vocab.ids(tokens),
            tokens,
            past,
            self._device,
            index_offset=offset,
            word_bias=self._word_biases(tokens, table),
            word_bias_loo=word_bias_loo,
            method=method,
        )

    def erased(
        self,
        candidate: str,
        history: Sequence[str],
        candidate_source: str | None = None,
        history_sources: Sequence[str | None] | None = None,
        *,
        words: Sequence[Sequence[int]] = (),
        reads: Sequence[Sequence[int]] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """Click scores after erasing each set of title words, and after dropping each set of
        past reads, for deletion curves and leave-one-out checks.

        ``words`` holds positions in :meth:`explain`'s words (the source token, when known,
        is position 0), ``reads`` positions in ``history`` as given (as
        :attr:`HistoryShare.index`; reads before the last ``max_history`` are ignored). An
        erased word also leaves the lexical bias (re-weighed over the words left); the
        feed's bias stays. Returns ([len(words)], [len(reads)]) float64.
        """
        tokens = self._tokens(candidate, candidate_source)
        offset = max(0, len(history) - self.config.max_history)
        past = self._token_ids(history, history_sources)[offset:]
        ids = self.vocab.ids(tokens)
        table = self._word_table()
        after_words, after_reads = rescore(
            self._model,
            ids,
            past,
            self._device,
            erase_words=words,
            drop_reads=[[i - offset for i in r if i >= offset] for r in reads],
        )
        feed = float(self._model.source_bias[ids[0]]) if ids else 0.0
        gone = [set(w) for w in words]
        left = [[t for j, t in enumerate(tokens) if j not in g] for g in gone]
        lexical = np.array([self._lexical_of(t, table) for t in left])
        # rescore's values already carry the scale a
        after_words = click_score(1.0, after_words, feed, lexical)
        after_reads = click_score(1.0, after_reads, feed, self._lexical_of(tokens, table))
        return after_words, after_reads

    def word_base(self, user: np.ndarray) -> float:
        """The part of every title's click score that no word carries: a·uᵀc with c the
        news encoder's value bias (see explain.py), for the user vector ``user`` [D]."""
        bias = self._model.news_encoder.self_attention.value.bias.detach()  # [D]
        u = np.asarray(user, dtype=np.float64).reshape(-1)  # [D]
        return self.scale * float(bias.double().cpu().numpy() @ u)

    def word_shares(
        self,
        titles: Sequence[str],
        user: np.ndarray,
        sources: Sequence[str | None] | None = None,
        *,
        batch_size: int = 1024,
    ) -> list[list[tuple[str, float]]]:
        """Per title, (token, exact signed share + l_j) in token order: the share of the
        original word (see explain.py) and l_j, its part of the lexical bias (see
        :meth:`lexical`).

        Each row sums to the title's a·uᵀr + lexical bias minus :meth:`word_base` for the
        user vector ``user`` [D] (one encoder pass, no leave-one-out): its click score
        without the feed's bias (see :meth:`source_bias`) and the part no word carries. The
        source token, when known, comes first. A title without tokens gives an empty row.
        """
        if sources is not None and len(sources) != len(titles):
            raise ValueError("titles and sources differ in length")
        tokens = [
            self._tokens(t, None if sources is None else sources[i]) for i, t in enumerate(titles)
        ]
        out: list[list[tuple[str, float]]] = [[] for _ in titles]
        table = self._word_table()
        u = torch.from_numpy(np.asarray(user, dtype=np.float32).reshape(-1)).to(self._device)
        rows = [self.vocab.ids(t) for t in tokens]
        titled = (i for i in range(len(tokens)) if tokens[i])
        encoder = self._model.news_encoder
        self._model.eval()
        with torch.inference_mode():
            for chunk, ids in length_batches(rows, titled, batch_size):  # ids [n, L]
                trace = encoder.trace(torch.from_numpy(ids).to(self._device))
                parts, _, _ = input_parts(encoder.self_attention, trace)  # [n, L, D]
                shares = self._model.score_scale * (parts @ u)  # [n, L]
                values = shares.double().cpu().numpy()
                for row, i in enumerate(chunk):
                    parts_of = self._word_biases(tokens[i], table)
                    out[i] = [
                        (t, float(v) + b)
                        for t, v, b in zip(tokens[i], values[row], parts_of, strict=False)
                    ]
        return out
