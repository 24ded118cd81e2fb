"""The facade the application uses: plain strings, ints and numpy arrays in and out.

A Recommender owns one NRMS model, its growing vocabulary and the record of
which embedding rows came from GloVe. It is not thread-safe: train on one
instance (e.g. one loaded from the last checkpoint in a worker thread) and
rank with another.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from nrms_core import checkpoint
from nrms_core.config import NRMSConfig
from nrms_core.device import resolve_device
from nrms_core.explain import Explanation, explain
from nrms_core.glove import GloVe, load_glove
from nrms_core.model import NRMS
from nrms_core.sampling import Sample
from nrms_core.tokenizer import tokenize
from nrms_core.trainer import Progress, Trainer, TrainResult
from nrms_core.vocab import Vocabulary

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

    def add_titles(self, titles: Iterable[str]) -> int:
        """Add the titles' unseen words to the vocabulary; returns how many were added.

        New rows come from GloVe when the word is there, else small random
        vectors; existing rows are untouched.
        """
        new: list[str] = []
        for title in titles:
            new += self.vocab.add(tokenize(title, self.config.max_title))
        if not new:
            return 0
        rows = self._rng.normal(0.0, self.config.unk_std, (len(new), self.config.embed_dim))
        rows = rows.astype(np.float32)
        found = np.zeros(len(new), dtype=bool)
        table = self._glove_table()
        if table is not None:
            vectors, found = table.lookup(new)
            rows[found] = vectors[found]
        self._model.grow(torch.from_numpy(rows))
        self._pretrained = torch.cat([self._pretrained, torch.from_numpy(found)])
        logger.debug("vocabulary +%d words (%d from GloVe)", len(new), int(found.sum()))
        return len(new)

    def _ids(self, title: str) -> list[int]:
        return self.vocab.ids(tokenize(title, self.config.max_title))

    def encode(self, titles: Sequence[str], *, batch_size: int = 1024) -> np.ndarray:
        """News vectors [N, D] float32 in eval mode (unknown words map to UNK; see add_titles)."""
        ids = [self._ids(t) for t in titles]
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

    def score(self, user: np.ndarray, news: np.ndarray) -> np.ndarray:
        """Click scores [N] of news vectors [N, D] for the user vector [D]."""
        matrix = np.asarray(news, dtype=np.float32).reshape(-1, self.config.news_dim)
        return matrix @ np.asarray(user, dtype=np.float32)

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
            anchor_decay=anchor_decay,
            weight_decay=self.config.weight_decay,
            monitor="auc" if self.config.select_by_auc else "loss",
            keep_start=self.config.keep_start,
            seed=seed,
            on_batch_end=progress,
            should_stop=should_stop,
        )

    def warm_start(
        self,
        titles: Sequence[str],
        groups: Sequence[str],
        *,
        epochs: int = 3,
        negatives: int | None = None,
        history: int = 20,
        max_samples: int = 4000,
        lr: float | None = None,
        batch_size: int = 32,
        holdout: float = 0.1,
        progress: ProgressCallback | None = None,
        should_stop: StopCallback | None = None,
        seed: int = 0,
    ) -> TrainResult:
        """Self-supervised start without clicks: the feed (``groups[i]``) is the label.

        A pseudo-user is a feed: its history is other titles of the feed, the
        positive a held-out title of the feed, the negatives titles of other
        feeds. Every feed gives about the same number of samples, so busy
        feeds do not dominate. Needs at least two groups with two titles.
        """
        if len(titles) != len(groups):
            raise ValueError("titles and groups differ in length")
        self.add_titles(titles)
        ids = {i: self._ids(t) for i, t in enumerate(titles)}
        samples = _pseudo_samples(
            groups,
            negatives=negatives or self.config.negatives,
            history=min(history, self.config.max_history),
            max_samples=max_samples,
            holdout=holdout,
            seed=seed,
        )
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
        *,
        epochs: int = 5,
        lr: float | None = None,
        batch_size: int = 32,
        holdout: float = 0.15,
        progress: ProgressCallback | None = None,
        should_stop: StopCallback | None = None,
        seed: int = 0,
    ) -> TrainResult:
        """Fine-tune on one reader's samples (chronological), titles by article id.

        History ids without a title are dropped; samples with an untitled
        candidate are skipped. The latest ``holdout`` share of samples drives
        early stopping; weights are pulled toward their starting values.
        """
        usable: list[Sample] = []
        for sample in samples:
            if not all(c in titles for c in sample.candidates):
                continue
            history = tuple(h for h in sample.history if h in titles)[-self.config.max_history :]
            usable.append(Sample(history, sample.candidates))
        needed = {a for s in usable for a in (*s.history, *s.candidates)}
        self.add_titles(titles[a] for a in needed)
        ids = {a: self._ids(titles[a]) for a in needed}
        if len(usable) < len(samples):
            logger.warning("skipped %d samples with untitled articles", len(samples) - len(usable))
        trainer = self._trainer(
            ids,
            lr=lr or self.config.fine_tune_lr,
            epochs=epochs,
            batch_size=batch_size,
            holdout=holdout,
            anchor_decay=self.config.anchor_decay,
            progress=progress,
            should_stop=should_stop,
            seed=seed,
        )
        return trainer.fit(usable)

    def explain(self, candidate: str, history: Sequence[str]) -> Explanation:
        """Exact word and past-article shares of the candidate's score (see explain.py).

        Only the last ``max_history`` titles count; HistoryShare.index is the
        position in ``history`` as given.
        """
        tokens = tokenize(candidate, self.config.max_title)
        offset = max(0, len(history) - self.config.max_history)
        past = [self._ids(t) for t in history[offset:]]
        return explain(
            self._model,
            self.vocab.ids(tokens),
            tokens,
            past,
            self._device,
            index_offset=offset,
        )


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
