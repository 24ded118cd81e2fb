"""The facade the application uses: plain strings, ints and numpy arrays in and out.

A Recommender owns one NRMS model, its growing vocabulary and the record of
which embedding rows came from GloVe.

Sources: every method that takes titles also takes, optionally, each title's
source (the feed it came from; in MIND, its category). A known source becomes
one extra token, ``<src:NAME>``, placed first in the title and never cut off by
``max_title``; the news encoder attends to it like a word, so explanations give
it its own exact share. Source rows start random (scale ``config.source_std``,
never GloVe) and train at ``config.source_lr_scale`` times the learning rate.
A source the vocabulary lacks is left out, as is None: titles only. Use one
stable name per feed (e.g. its id) everywhere: warm start, fine-tune, encode,
explain and word_shares.

Click biases: a fine-tuning round ends by fitting, on the reader's sessions, a
scale ``a`` for uᵀr, one bias ``b`` per source and one bias ``v`` per title word
(:mod:`nrms_core.bias`; uᵀr there is cross-fitted, each click scored by a model that
did not train on it); the click score they make is defined in :mod:`nrms_core.click`. The
feed's bias is how often the reader opens a feed beyond what its titles say, a
word's how often they open titles that carry it; in explanations the feed has
its own exact share and each word's bias is part of that word's.

A Recommender is not thread-safe: train on one instance (e.g. one loaded from
the last checkpoint in a worker thread) and rank with another.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nrms_core import checkpoint
from nrms_core.bias import BiasFit, Group, click_scores, fit_bias
from nrms_core.click import click_score, word_weight
from nrms_core.config import WARM_EPOCHS, WARM_SAMPLES, NRMSConfig
from nrms_core.device import resolve_device
from nrms_core.explain import Explanation, Method, explain, input_parts, rescore
from nrms_core.glove import GloVe, load_glove
from nrms_core.metrics import auc
from nrms_core.model import NRMS
from nrms_core.sampling import Sample
from nrms_core.tokenizer import SOURCE_PREFIX, content_words, source_token, tokenize
from nrms_core.trainer import Progress, Trainer, TrainResult, holdout_split
from nrms_core.vocab import UNK, Vocabulary

__all__ = ["Recommender"]

logger = logging.getLogger(__name__)

_REPEATS = 4
ProgressCallback = Callable[[Progress], None]
StopCallback = Callable[[], bool]


class Recommender:
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
        self.feed_prior: dict[str, float] = {}
        """Where the click-bias fit pulls each source's bias (0 for any not given): what the
        reader's opens say about each feed beyond the groups (see :func:`fit_bias`)."""
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
        data = checkpoint.load(path)
        dev = resolve_device(device)
        model = NRMS(data.config, len(data.vocab))
        model.load_state_dict(dict(data.state))
        return cls(
            data.config,
            data.vocab,
            model.to(dev),
            data.pretrained,
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

    def _word_table(self) -> np.ndarray:
        """The fitted word biases v [V] float64."""
        return self._model.word_bias.detach().double().cpu().numpy()

    def _word_biases(self, tokens: Sequence[str], table: np.ndarray) -> list[float]:
        """Each token's part of the lexical bias (:mod:`nrms_core.click`) under the word
        biases ``table`` [V]: a content word's first occurrence carries its bias times
        :func:`word_weight` of the title's distinct content words (those the vocabulary lacks
        included, with no bias of their own), every other token 0."""
        words = content_words(tokens)
        weight = word_weight(len(words))
        row_of = dict(zip(words, self.vocab.ids(words), strict=True))
        shares: list[float] = []
        for token in tokens:
            row = row_of.pop(token, UNK)  # only a word's first occurrence carries its bias
            shares.append(0.0 if row == UNK else weight * float(table[row]))
        return shares

    def _lexical_of(self, tokens: Sequence[str], table: np.ndarray) -> float:
        """The lexical bias of a token list under the word biases ``table`` [V]."""
        return float(sum(self._word_biases(tokens, table)))

    def lexical(self, titles: Sequence[str]) -> np.ndarray:
        """The fitted lexical click bias l [N] float32 of each title (see
        :mod:`nrms_core.click`; 0 until a round has fitted one)."""
        table = self._word_table()
        out = np.zeros(len(titles), dtype=np.float32)
        if not table.any():
            return out
        for i, title in enumerate(titles):
            out[i] = self._lexical_of(tokenize(title, self.config.max_title), table)
        return out

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

    def encode(
        self,
        titles: Sequence[str],
        sources: Sequence[str | None] | None = None,
        *,
        batch_size: int = 1024,
    ) -> np.ndarray:
        """News vectors [N, D] float32 in eval mode.

        ``sources[i]`` (e.g. the feed's name) puts the source token first in
        title i; a source or word the vocabulary lacks is left out (words map
        to UNK; see add_titles). None: titles only.
        """
        ids = self._token_ids(titles, sources)
        out = np.zeros((len(ids), self.config.news_dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        self._model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), max(1, batch_size)):
                chunk = order[start : start + batch_size]
                width = max(1, len(ids[chunk[-1]]))
                tokens = np.zeros((len(chunk), width), dtype=np.int64)  # [n, L]
                for row, i in enumerate(chunk):
                    tokens[row, : len(ids[i])] = ids[i]
                batch = torch.from_numpy(tokens).to(self._device)
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

    @staticmethod
    def _bias_groups(groups: Sequence[Sample], titles: Mapping[int, str]) -> list[Sample]:
        """The groups a click bias can be fitted on: a click and something skipped, all titled."""
        return [
            g for g in groups if len(g.candidates) > 1 and all(c in titles for c in g.candidates)
        ]

    def _raw_scores(
        self, groups: Sequence[Sample], titles: Mapping[int, str], sources: Mapping[int, str]
    ) -> list[np.ndarray]:
        """Each group's raw scores uᵀr [n] float64 under the model as it is now (groups from
        :meth:`_bias_groups`)."""
        needed = sorted({a for g in groups for a in (*g.history, *g.candidates) if a in titles})
        row = {a: i for i, a in enumerate(needed)}
        vectors = self.encode([titles[a] for a in needed], [sources.get(a) for a in needed])
        users: dict[tuple[int, ...], np.ndarray] = {}
        out: list[np.ndarray] = []
        for g in groups:
            history = tuple(h for h in g.history if h in row)[-self.config.max_history :]
            if history not in users:
                users[history] = self.user_vector(vectors[[row[h] for h in history]])
            raw = vectors[[row[c] for c in g.candidates]] @ users[history]  # [n]
            out.append(raw.astype(np.float64))
        return out

    def _bias_index(
        self, groups: Sequence[Sample], titles: Mapping[int, str], sources: Mapping[int, str]
    ) -> _BiasIndex:
        """Feed and word indices of every candidate of the groups, for :func:`fit_bias`."""
        feed_of: dict[int, int] = {}  # vocabulary row of a source token -> feed index
        word_of: dict[int, int] = {}  # vocabulary row of a content word -> word index
        feeds: dict[int, int] = {}  # article -> feed index, -1: none
        words: dict[int, np.ndarray] = {}  # article -> its word indices
        for a in sorted({c for g in groups for c in g.candidates}):
            source_row = self._source_row(sources.get(a))
            feeds[a] = -1 if source_row is None else feed_of.setdefault(source_row, len(feed_of))
            content = content_words(tokenize(titles[a], self.config.max_title))
            if not self.config.word_bias:
                content = []
            words[a] = np.asarray(  # a word the vocabulary could not take (-1) counts, no bias
                [
                    -1 if r == UNK else word_of.setdefault(r, len(word_of))
                    for r in self.vocab.ids(content)
                ],
                np.int64,
            )
        return _BiasIndex(feed_of, word_of, feeds, words)

    def _prior_rows(self) -> dict[int, float]:
        """:attr:`feed_prior` by the vocabulary row of each source's token."""
        rows: dict[int, float] = {}
        for source, value in self.feed_prior.items():
            row = self._source_row(source)
            if row is not None and np.isfinite(value):
                rows[row] = float(value)
        return rows

    def _fit_bias(self, groups: Sequence[Group], index: _BiasIndex) -> BiasFit:
        by_row = self._prior_rows()
        prior = np.zeros(len(index.feed_of))
        for row, at in index.feed_of.items():
            prior[at] = by_row.get(row, 0.0)
        return fit_bias(
            groups,
            len(index.feed_of),
            len(index.word_of),
            prior=prior,
            **self.config.bias_penalties(),
        )

    def fit_bias(
        self,
        groups: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
        *,
        scores: Sequence[np.ndarray] | None = None,
    ) -> BiasFit:
        """Fit the score's scale, per-feed and per-word biases (see :mod:`nrms_core.bias`)
        and keep them.

        Each group is one click: ``candidates[0]`` the clicked article, the rest what was
        shown and skipped beside it (all of it, not K), ``history`` the clicks before.
        Groups with an untitled candidate are skipped. The groups' words and sources join
        the vocabulary first, so each gets its bias. The model's weights are not changed,
        only ``a``, ``b`` and ``v`` (``v`` stays 0 without ``config.word_bias``).

        ``scores``: each usable group's raw scores uᵀr [n] from elsewhere (cross-fitted
        models, see :meth:`fine_tune`), in the order of the usable groups; None scores them
        with this model.
        """
        src = sources or {}
        usable = self._bias_groups(groups, titles)
        if scores is not None and len(scores) != len(usable):
            raise ValueError("scores must give one array per usable group")
        needed = sorted({a for g in usable for a in (*g.history, *g.candidates) if a in titles})
        self.add_titles((titles[a] for a in needed), (src.get(a) for a in needed))
        index = self._bias_index(usable, titles, src)
        raw = self._raw_scores(usable, titles, src) if scores is None else scores
        fit = self._fit_bias(index.groups(usable, raw), index)
        feed_of, word_of = index.feed_of, index.word_of
        with torch.no_grad():
            table = torch.zeros_like(self._model.source_bias)  # [V]
            for row, value in self._prior_rows().items():  # feeds no group saw: their prior
                table[row] = value
            if feed_of:
                at = torch.tensor(list(feed_of), dtype=torch.long, device=table.device)
                table[at] = torch.from_numpy(fit.bias[list(feed_of.values())]).to(table)
            self._model.source_bias.copy_(table)
            words = torch.zeros_like(self._model.word_bias)  # [V]
            if word_of:
                at = torch.tensor(list(word_of), dtype=torch.long, device=words.device)
                words[at] = torch.from_numpy(fit.words[list(word_of.values())]).to(words)
            self._model.word_bias.copy_(words)
            self._model.score_scale.fill_(fit.scale)
        logger.info(
            "click bias: scale %.3f, %d feeds (|b| up to %.3f), %d words (|v| up to %.3f), "
            "from %d clicks",
            fit.scale,
            len(feed_of),
            float(np.abs(fit.bias).max(initial=0.0)),
            len(word_of),
            float(np.abs(fit.words).max(initial=0.0)),
            fit.clicks,
        )
        return fit

    def pin_biases(
        self,
        *,
        feeds: Mapping[str, tuple[float | None, float | None]] | None = None,
        words_off: Iterable[str] = (),
    ) -> int:
        """Hold biases where the reader said so; returns how many were moved.

        ``feeds`` maps a source to a (floor, ceiling) for its bias ``b`` ("more from this
        feed" sets a floor, "fewer" a ceiling; None: no bound); each word of ``words_off``
        (a lower-case title word) gets ``v = 0``, so it no longer moves any score through
        its bias. Sources and words the vocabulary lacks are skipped. Called after
        :meth:`fit_bias`, so the fit itself sees the reader's clicks unaltered, and the pins
        stay exact shares of the click score.
        """
        moved = 0
        with torch.no_grad():
            for source, (floor, ceiling) in (feeds or {}).items():
                row = self._source_row(source)
                if row is None:
                    continue
                value = float(self._model.source_bias[row])
                pinned = value
                if floor is not None:
                    pinned = max(pinned, floor)
                if ceiling is not None:
                    pinned = min(pinned, ceiling)
                if pinned != value:
                    self._model.source_bias[row] = pinned
                    moved += 1
            words = [w for w in dict.fromkeys(words_off) if w in self.vocab]
            for row in self.vocab.ids(words):
                if row != UNK and float(self._model.word_bias[row]) != 0.0:
                    self._model.word_bias[row] = 0.0
                    moved += 1
        return moved

    def _trainer(
        self,
        titles: Mapping[int, Sequence[int]],
        *,
        lr: float,
        epochs: int,
        batch_size: int,
        holdout: float,
        anchor_decay: float,
        progress: ProgressCallback | None,
        should_stop: StopCallback | None,
        seed: int,
        on_selected: Callable[[], None] | None = None,
    ) -> Trainer:
        rows = ~self._pretrained if self.config.freeze_pretrained else None
        return Trainer(
            self._model,
            titles,
            device=self._device,
            lr=lr,
            epochs=epochs,
            batch_size=batch_size,
            holdout=holdout,
            patience=self.config.patience,
            embed_lr_scale=self.config.embed_lr_scale,
            trainable_rows=rows,
            fast_rows=self._source_rows(),
            fast_lr_scale=self.config.source_lr_scale,
            anchor_decay=anchor_decay,
            weight_decay=self.config.weight_decay,
            monitor="auc" if self.config.select_by_auc else "loss",
            keep_start=self.config.keep_start,
            refit=self.config.refit,
            seed=seed,
            on_batch_end=progress,
            should_stop=should_stop,
            on_selected=on_selected,
        )

    def warm_start(
        self,
        titles: Sequence[str],
        groups: Sequence[str],
        *,
        epochs: int = WARM_EPOCHS,
        negatives: int | None = None,
        history: int = 20,
        max_samples: int = WARM_SAMPLES,
        lr: float | None = None,
        batch_size: int = 32,
        holdout: float = 0.1,
        source_rate: float = 0.5,
        progress: ProgressCallback | None = None,
        should_stop: StopCallback | None = None,
        seed: int = 0,
    ) -> TrainResult:
        """Self-supervised start without clicks: the feed (``groups[i]``) is the label.

        A pseudo-user is a feed: its history is other titles of the feed, the
        positive a held-out title of the feed, the negatives titles of other
        feeds. Every feed gives about the same number of samples, so busy
        feeds do not dominate. Needs at least two groups with two titles.

        The groups are also the titles' sources: each title of each sample
        carries its source token with probability ``source_rate`` (0: never,
        titles only). Always showing it would let the token alone solve the
        task and teach nothing about words; showing it sometimes ties each
        source token to its feed's words.
        """
        if len(titles) != len(groups):
            raise ValueError("titles and groups differ in length")
        if not 0.0 <= source_rate <= 1.0:
            raise ValueError("source_rate must be in [0, 1]")
        self.add_titles(titles, groups if source_rate > 0 else None)
        ids = {i: self._ids(t) for i, t in enumerate(titles)}
        n = len(titles)
        if source_rate > 0:
            ids.update({n + i: self._ids(titles[i], groups[i]) for i in range(n)})
        samples = _pseudo_samples(
            groups,
            negatives=negatives or self.config.negatives,
            history=min(history, self.config.max_history),
            max_samples=max_samples,
            holdout=holdout,
            seed=seed,
        )
        if source_rate > 0:
            pick = random.Random(seed + 1)

            def variant(article: int) -> int:
                return article + n if pick.random() < source_rate else article

            samples = [
                Sample(tuple(map(variant, s.history)), tuple(map(variant, s.candidates)))
                for s in samples
            ]
        trainer = self._trainer(
            ids,
            lr=lr or self.config.lr,
            epochs=epochs,
            batch_size=batch_size,
            holdout=holdout,
            anchor_decay=0.0,
            progress=progress,
            should_stop=should_stop,
            seed=seed,
        )
        return trainer.fit(samples)

    def fine_tune(
        self,
        samples: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
        *,
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int = 32,
        holdout: float = 0.15,
        sessions: Sequence[Sample] | None = None,
        progress: ProgressCallback | None = None,
        should_stop: StopCallback | None = None,
        seed: int = 0,
    ) -> TrainResult:
        """Fine-tune on one reader's samples (chronological), titles by article id.

        With ``config.feed_bias`` a round that was not cancelled ends by fitting the click
        biases (:meth:`fit_bias`) on ``sessions`` (each click against everything skipped
        beside it; None: the samples themselves), and measures the click score on the
        held-out samples as the trainer measures uᵀr: with the weights the holdout chose and
        biases fitted on the other sessions (``holdout_click_auc`` of the result; there the
        scale is fitted on the selection model's own scores, not cross-fitted). With
        ``config.cross_fit`` folds (2 or more), the biases are fitted on uᵀr cross-fitted
        by :meth:`_cross_fitted_scores`, about one more pass over the samples; stopping
        during it cancels the round.

        ``sources`` maps article ids to their feed (an id without one has no
        source token). History ids without a title are dropped; samples with
        an untitled candidate are skipped. ``epochs`` and ``lr`` default to the
        config's ``fine_tune_epochs`` and ``fine_tune_lr``. The latest ``holdout``
        share of samples drives early stopping; weights are pulled toward their
        starting values.
        """
        usable = self._usable(samples, titles)
        needed = {a for s in usable for a in (*s.history, *s.candidates)}
        src = sources or {}
        groups = self._bias_groups(usable if sessions is None else sessions, titles)
        every = needed | {a for g in groups for a in (*g.history, *g.candidates)}
        order = sorted(a for a in every if a in titles)
        self.add_titles((titles[a] for a in order), (src.get(a) for a in order))  # no growth later
        ids = {a: self._ids(titles[a], src.get(a)) for a in needed}
        measured: list[list[float]] = []

        def on_selected() -> None:
            measured.append(self._held_out_aucs(usable, groups, holdout, titles, src))

        if len(usable) < len(samples):
            logger.warning("skipped %d samples with untitled articles", len(samples) - len(usable))
        trainer = self._trainer(
            ids,
            lr=lr or self.config.fine_tune_lr,
            epochs=self.config.fine_tune_epochs if epochs is None else epochs,
            batch_size=batch_size,
            holdout=holdout,
            anchor_decay=self.config.anchor_decay,
            progress=progress,
            should_stop=should_stop,
            seed=seed,
            on_selected=on_selected if self.config.feed_bias else None,
        )
        cross_fit = self.config.feed_bias and self.config.cross_fit > 1
        start = _snapshot(self._model) if cross_fit else {}
        result = trainer.fit(usable)
        if self.config.feed_bias and not result.cancelled:
            scores = None
            if cross_fit:
                scores = self._cross_fitted_scores(
                    usable,
                    groups,
                    start,
                    ids,
                    titles,
                    src,
                    epochs=result.epochs_kept,
                    lr=lr or self.config.fine_tune_lr,
                    batch_size=batch_size,
                    should_stop=should_stop,
                    seed=seed,
                )
                if scores is None:
                    return dataclasses.replace(result, cancelled=True)
            self.fit_bias(groups, titles, sources, scores=scores)
            aucs = measured[0] if measured else []
            result = dataclasses.replace(
                result,
                holdout_click_auc=float(np.mean(aucs)) if aucs else None,
                holdout_click_aucs=tuple(aucs),
            )
        return result

    def _cross_fitted_scores(
        self,
        samples: Sequence[Sample],
        groups: Sequence[Sample],
        start: Mapping[str, torch.Tensor],
        ids: Mapping[int, Sequence[int]],
        titles: Mapping[int, str],
        sources: Mapping[int, str],
        *,
        epochs: int,
        lr: float,
        batch_size: int,
        should_stop: StopCallback | None,
        seed: int,
    ) -> list[np.ndarray] | None:
        """Each group's raw scores uᵀr [n] from a model that never trained on its click.

        The clicked articles are dealt into ``config.cross_fit`` folds; for each fold the
        model restarts from the round's ``start`` weights, trains as the round did (same
        anchor, rates and kept epoch count, no holdout) on the samples whose click lies in
        the other folds, and scores the fold's groups. The round's weights come back at the
        end. None when ``should_stop`` cancelled it.

        Why: the round's own model has learned its training clicks, so on them uᵀr
        separates clicks from skips better than it will on tomorrow's articles, and a
        scale ``a`` fitted on those scores trusts it too much (most where the feed and the
        words already say what the reader wants). Fitted on scores from models that did not
        see the click, ``a`` measures what uᵀr adds out of sample.
        """
        trained = _snapshot(self._model)
        clicked = sorted({s.candidates[0] for s in (*samples, *groups)})
        random.Random(seed).shuffle(clicked)
        fold_of = {a: i % self.config.cross_fit for i, a in enumerate(clicked)}
        scores: dict[int, np.ndarray] = {}
        try:
            for fold in range(self.config.cross_fit):
                here = [i for i, g in enumerate(groups) if fold_of[g.candidates[0]] == fold]
                if not here:
                    continue
                self._model.load_state_dict(start)
                rest = [s for s in samples if fold_of[s.candidates[0]] != fold]
                if rest and epochs > 0:
                    trainer = self._trainer(
                        ids,
                        lr=lr,
                        epochs=epochs,
                        batch_size=batch_size,
                        holdout=0.0,
                        anchor_decay=self.config.anchor_decay,
                        progress=None,
                        should_stop=should_stop,
                        seed=seed + 1 + fold,
                    )
                    if trainer.fit(rest).cancelled:
                        return None
                raw = self._raw_scores([groups[i] for i in here], titles, sources)
                for i, values in zip(here, raw, strict=True):
                    scores[i] = values
        finally:
            self._model.load_state_dict(trained)
            self._model.eval()
        logger.info("cross-fitted the click scores over %d folds", self.config.cross_fit)
        return [scores[i] for i in range(len(groups))]

    def _usable(self, samples: Sequence[Sample], titles: Mapping[int, str]) -> list[Sample]:
        """The samples :meth:`fine_tune` trains on: every candidate titled, the history's
        untitled ids dropped and cut to the last ``max_history``."""
        usable: list[Sample] = []
        for sample in samples:
            if not all(c in titles for c in sample.candidates):
                continue
            history = tuple(h for h in sample.history if h in titles)[-self.config.max_history :]
            usable.append(Sample(history, sample.candidates))
        return usable

    def held_out_samples(
        self, samples: Sequence[Sample], titles: Mapping[int, str], *, holdout: float
    ) -> list[Sample]:
        """The held-out clicks a round is judged on (the latest ``holdout`` share of the usable
        samples, each with something skipped beside it), in the order of the per-click AUCs of
        :meth:`held_out_click_aucs` and ``TrainResult.holdout_click_aucs``."""
        _, held = holdout_split(self._usable(samples, titles), holdout)
        return [s for s in held if len(s.candidates) > 1]

    def held_out_click_aucs(
        self,
        samples: Sequence[Sample],
        groups: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
        *,
        holdout: float,
        bias_only: bool = False,
    ) -> list[float]:
        """The AUC of each held-out click (:meth:`held_out_samples`) under this model's click
        score, measured exactly as :meth:`fine_tune` measures a round: uᵀr from this model's
        weights as they are (nothing is trained), the scale and the feed and word biases
        fitted on the sessions before the held-out ones. So the model in use and a new round
        are compared on the same clicks by the same procedure.

        ``bias_only``: the ClickBias baseline, the click score with uᵀr = 0 (the feed and word
        biases alone, fitted the same way). The titles join the vocabulary first (as ranking
        does with new articles). [] when nothing is held out.
        """
        usable = self._usable(samples, titles)
        src = sources or {}
        fit_groups = self._bias_groups(groups, titles)
        every = {a for s in (*usable, *fit_groups) for a in (*s.history, *s.candidates)}
        order = sorted(a for a in every if a in titles)
        self.add_titles((titles[a] for a in order), (src.get(a) for a in order))
        return self._held_out_aucs(usable, fit_groups, holdout, titles, src, bias_only=bias_only)

    def keep_bias_only(
        self,
        groups: Sequence[Sample],
        titles: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
    ) -> BiasFit:
        """Make this model's click score the ClickBias baseline: fit the feed and word biases
        on ``groups`` with uᵀr taken as 0, and set the scale ``a`` to 0, so that the score
        (and its explanation) is the biases alone. For a reader on whom no trained model beats
        chance but the biases do."""
        usable = self._bias_groups(groups, titles)
        fit = self.fit_bias(
            groups, titles, sources, scores=[np.zeros(len(g.candidates)) for g in usable]
        )
        with torch.no_grad():
            self._model.score_scale.fill_(0.0)
        return fit

    def _held_out_aucs(
        self,
        samples: Sequence[Sample],
        groups: Sequence[Sample],
        holdout: float,
        titles: Mapping[int, str],
        sources: Mapping[int, str],
        *,
        bias_only: bool = False,
    ) -> list[float]:
        """AUC of the click score on each held-out sample: biases fitted on the sessions of
        the other clicks, everything scored by the model as it is now (uᵀr = 0 with
        ``bias_only``)."""
        _, held = holdout_split(samples, holdout)
        train, _ = holdout_split(groups, holdout)
        held = [s for s in held if len(s.candidates) > 1]
        if not held or not train:
            return []
        index = self._bias_index([*train, *held], titles, sources)
        if bias_only:
            raw = [np.zeros(len(g.candidates)) for g in (*train, *held)]
        else:
            raw = self._raw_scores([*train, *held], titles, sources)  # one encode for both
        fit = self._fit_bias(index.groups(train, raw[: len(train)]), index)
        scores = click_scores(index.groups(held, raw[len(train) :]), fit)
        return [float(auc([1] + [0] * (len(z) - 1), z)) for z in scores]

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
        order = sorted((i for i in range(len(tokens)) if tokens[i]), key=lambda i: len(tokens[i]))
        encoder = self._model.news_encoder
        self._model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), max(1, batch_size)):
                chunk = order[start : start + batch_size]
                width = len(tokens[chunk[-1]])
                ids = np.zeros((len(chunk), width), dtype=np.int64)  # [n, L]
                for row, i in enumerate(chunk):
                    ids[row, : len(tokens[i])] = self.vocab.ids(tokens[i])
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


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights and buffers, to load back later."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@dataclass(frozen=True)
class _BiasIndex:
    """Where each candidate's feed and words sit in a click-bias fit."""

    feed_of: dict[int, int]  # vocabulary row of a source token -> feed index
    word_of: dict[int, int]  # vocabulary row of a content word -> word index
    feeds: dict[int, int]  # article -> its feed index (-1: none)
    words: dict[int, np.ndarray]  # article -> its word indices (-1: a word without a row)

    def groups(self, samples: Sequence[Sample], scores: Sequence[np.ndarray]) -> list[Group]:
        """The samples as fit groups, with these raw scores [n] each."""
        return [
            Group(
                raw,
                np.asarray([self.feeds[c] for c in g.candidates], np.int64),
                tuple(self.words[c] for c in g.candidates),
            )
            for g, raw in zip(samples, scores, strict=True)
        ]


def _pseudo_samples(
    groups: Sequence[str],
    *,
    negatives: int,
    history: int,
    max_samples: int,
    holdout: float,
    seed: int,
) -> list[Sample]:
    """Feed-as-user samples over title indices.

    Each feed gives up to ``max_samples / feeds`` samples; a small feed uses
    each title as the positive up to ``_REPEATS`` times, with fresh histories
    and negatives, so small profiles still get enough training steps.

    The last ``holdout`` share is a random draw (the trainer holds out the
    tail); the rest is ordered feed by feed, so that the trainer's batches of
    neighbouring samples share titles.
    """
    rng = random.Random(seed)
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    usable = {g: m for g, m in members.items() if len(m) >= 2}
    if not usable or len(members) < 2:
        return []
    per_group = max(1, max_samples // len(usable))
    samples: list[tuple[int, Sample]] = []
    for rank, (group, items) in enumerate(usable.items()):
        others = [i for g, m in members.items() if g != group for i in m]
        shuffled = rng.sample(items, len(items))
        count = min(per_group, _REPEATS * len(items))
        for positive in (shuffled[k % len(items)] for k in range(count)):
            rest = [i for i in items if i != positive]
            past = rng.sample(rest, min(history, len(rest)))
            negs = [rng.choice(others) for _ in range(negatives)]
            samples.append((rank, Sample(tuple(past), (positive, *negs))))
    rng.shuffle(samples)
    cut = len(samples) - round(len(samples) * holdout)
    order = list(range(len(usable)))
    rng.shuffle(order)
    head = sorted(samples[:cut], key=lambda item: order[item[0]])
    return [sample for _, sample in head + samples[cut:]]
