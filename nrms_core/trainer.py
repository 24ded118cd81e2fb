"""Training loop: NLL of the positive among 1 + K candidates, each distinct title encoded once.

Within a batch the distinct article ids of all histories and candidates are
collected, their titles (padded only to the batch's longest, and encoded in
groups of similar length) are encoded once ([U, L] -> [U, D]), and the result
is gathered into the histories [B, H, D] and candidates [B, C, D]; the user
encoder projects each distinct vector once before gathering. Batches are cut
from blocks of neighbouring samples, whose histories overlap, so U stays small.
The reader's chronologically latest samples are held out for early stopping,
and the best epoch's weights are kept.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from nrms_core.budget import spread
from nrms_core.model import NRMS
from nrms_core.optimizer import AdamW, adamw
from nrms_core.rows import UsedRows
from nrms_core.sampling import Sample

__all__ = ["Batch", "Progress", "TrainResult", "Trainer", "collate", "holdout_split"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """Reported after every training batch (epochs and batches count from 1)."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float


@dataclass(frozen=True)
class TrainResult:
    """Outcome of one training run; holdout figures are None when nothing was held out.

    ``holdout_click_auc`` is the held-out AUC of the full click score (``a·uᵀr`` plus the
    click biases, all fitted without the held-out clicks); the trainer leaves it None and
    :meth:`nrms_core.recommender.Recommender.fine_tune` fills it in. ``epochs_kept`` is how
    many epochs the final weights trained for: the one the holdout chose (0: the starting
    weights), or the last completed one without a holdout.
    """

    epochs_run: int
    steps: int
    train_loss: float | None
    holdout_loss: float | None
    holdout_auc: float | None
    holdout_ndcg10: float | None
    samples: int
    seconds: float
    stopped_early: bool
    cancelled: bool
    device: str
    holdout_click_auc: float | None = None
    epochs_kept: int = 0
    holdout_click_aucs: tuple[float, ...] = ()
    """The AUC of each held-out click whose ``holdout_click_auc`` is the mean (in the order of
    :meth:`nrms_core.recommender.Recommender.held_out_samples`), for paired comparisons."""


@dataclass(frozen=True)
class Batch:
    """Tensors of one batch: tokens [U, L], history [B, H], mask [B, H], candidates [B, C]."""

    tokens: torch.Tensor
    history: torch.Tensor
    history_mask: torch.Tensor
    candidates: torch.Tensor


def collate(
    samples: Sequence[Sample], titles: Mapping[int, Sequence[int]], device: torch.device
) -> Batch:
    """Pack samples whose candidate lists have equal length; unknown ids raise KeyError."""
    rows: dict[int, int] = {}
    for sample in samples:
        for article in (*sample.history, *sample.candidates):
            if article not in rows:
                rows[article] = len(rows)
    width = max([1, *(len(titles[a]) for a in rows)])
    tokens = np.zeros((len(rows), width), dtype=np.int64)  # [U, L]
    for article, row in rows.items():
        ids = titles[article]
        tokens[row, : len(ids)] = ids
    depth = max([0, *(len(s.history) for s in samples)])
    history = np.zeros((len(samples), depth), dtype=np.int64)  # [B, H]
    mask = np.zeros((len(samples), depth), dtype=bool)  # [B, H]
    n_cand = len(samples[0].candidates)
    candidates = np.zeros((len(samples), n_cand), dtype=np.int64)  # [B, C]
    for i, sample in enumerate(samples):
        if len(sample.candidates) != n_cand:
            raise ValueError("all samples of a batch need the same number of candidates")
        history[i, : len(sample.history)] = [rows[a] for a in sample.history]
        mask[i, : len(sample.history)] = True
        candidates[i] = [rows[a] for a in sample.candidates]
    return Batch(
        torch.from_numpy(tokens).to(device),
        torch.from_numpy(history).to(device),
        torch.from_numpy(mask).to(device),
        torch.from_numpy(candidates).to(device),
    )


def batch_loss(model: NRMS, batch: Batch) -> torch.Tensor:
    """The training loss of a batch: the mean NLL of each sample's positive (candidate 0)
    among its candidates' scores [B, C], a scalar that keeps its graph."""
    logits = model(batch.tokens, batch.history, batch.history_mask, batch.candidates)  # [B, C]
    target = logits.new_zeros(logits.shape[0], dtype=torch.long)  # [B]
    return F.cross_entropy(logits, target)


def ranking_metrics(logits: np.ndarray) -> tuple[float, float]:
    """Mean AUC and nDCG@10 of rows of ``logits`` [B, C] whose column 0 is the positive."""
    pos = logits[:, :1]  # [B, 1]
    neg = logits[:, 1:]  # [B, C-1]
    auc = ((neg < pos).sum(1) + 0.5 * (neg == pos).sum(1)) / max(1, neg.shape[1])
    rank = 1 + (neg > pos).sum(1)  # [B]
    ndcg = np.where(rank <= 10, 1.0 / np.log2(rank + 1.0), 0.0)
    return float(auc.mean()), float(ndcg.mean())


_T = TypeVar("_T")
_State = Mapping[str, torch.Tensor]


def holdout_split(samples: Sequence[_T], holdout: float) -> tuple[list[_T], list[_T]]:
    """(train, held out): the latest ``holdout`` share of chronological samples is held out
    (at least one when holdout > 0), nothing when there are fewer than 5 samples."""
    n_hold = round(len(samples) * holdout) if len(samples) >= 5 else 0
    if holdout > 0 and len(samples) >= 5:
        n_hold = max(1, n_hold)
    cut = len(samples) - n_hold
    return list(samples[:cut]), list(samples[cut:])


class Trainer:
    """Fine-tunes an NRMS model on samples; callbacks make it drivable from a GUI thread.

    Args:
        model: the model, already on ``device``.
        titles: article id -> token ids (truncated, no padding).
        lr: learning rate of every weight except the word embeddings.
        embed_lr_scale: embeddings train at ``lr * embed_lr_scale`` (0 freezes them).
        trainable_rows: [V] bool; embedding rows that may change (None = all).
        fast_rows: [V] bool; embedding rows (source tokens) that train at
            ``lr * fast_lr_scale`` instead of ``lr * embed_lr_scale``.
        anchor_decay: strength of the L2 pull toward the starting weights.
        on_batch_end: called with a :class:`Progress` after each batch.
        should_stop: polled before every batch; True cancels the run.
        patience: stop after this many epochs without a better holdout figure (0: never).
        monitor: the holdout figure that picks the best epoch: ``"auc"`` (ties
            broken by loss) or ``"loss"``.
        keep_start: whether the starting weights compete with the trained ones.
        locality: batches are cut from shuffled blocks of this many batches of
            consecutive samples (1 = plain shuffled batches of neighbours only).
        refit: once the holdout has chosen the best epoch count, train again from the
            starting weights on all samples, the held-out latest ones included, for
            that many epochs (about twice the time; the holdout figures reported stay
            those of the selection run).
        refit_passes: the most sample passes (chosen epochs x every sample) the refit may
            take from the starting weights (None: no limit). Past it the refit continues from
            the chosen weights for one epoch over the held-out samples and as many training
            samples spread over time: it still learns the newest clicks, at a fraction of the
            cost, and the older ones are not learned twice.
        used_rows: train only the embedding rows the titles use (see :meth:`fit`).
        on_selected: called once the holdout has chosen, with the model in the chosen state
            and before any refit (when there is a holdout and the run was not cancelled):
            the moment to score the held-out samples with weights that never saw them.

    The weights end as the best epoch on the holdout (or the starting state,
    when ``keep_start`` and no epoch beat it); without a holdout, as the last
    completed epoch.
    """

    def __init__(
        self,
        model: NRMS,
        titles: Mapping[int, Sequence[int]],
        *,
        device: torch.device,
        lr: float,
        epochs: int = 5,
        batch_size: int = 32,
        holdout: float = 0.15,
        patience: int = 1,
        embed_lr_scale: float = 1.0,
        trainable_rows: torch.Tensor | None = None,
        fast_rows: torch.Tensor | None = None,
        fast_lr_scale: float = 1.0,
        anchor_decay: float = 0.0,
        weight_decay: float = 0.0,
        seed: int = 0,
        locality: int = 4,
        monitor: str = "loss",
        keep_start: bool = False,
        refit: bool = False,
        refit_passes: int | None = None,
        used_rows: bool = True,
        on_batch_end: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_selected: Callable[[], None] | None = None,
    ) -> None:
        if epochs < 0 or batch_size < 1 or not 0.0 <= holdout < 1.0:
            raise ValueError("epochs >= 0, batch_size >= 1 and 0 <= holdout < 1 are required")
        self.model = model
        self.titles = titles
        self.device = device
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.holdout = holdout
        self.patience = patience
        self.embed_lr_scale = embed_lr_scale
        self.trainable_rows = trainable_rows
        fast = fast_rows is not None and fast_lr_scale > 0 and bool(fast_rows.any())
        self.fast_rows = fast_rows if fast else None
        self.fast_lr_scale = fast_lr_scale
        self.anchor_decay = anchor_decay
        self.weight_decay = weight_decay
        self.seed = seed
        self.locality = max(1, locality)
        if monitor not in ("auc", "loss"):
            raise ValueError("monitor must be 'auc' or 'loss'")
        self.monitor = monitor
        self.keep_start = keep_start
        self.refit = refit
        self.refit_passes = refit_passes
        self.used_rows = used_rows
        self.on_batch_end = on_batch_end
        self.should_stop = should_stop
        self.on_selected = on_selected

    def batches(self, train: list[Sample], rng: random.Random) -> list[list[Sample]]:
        """Shuffled batches drawn from blocks of neighbouring samples.

        Neighbouring samples of one reader share most of their history, so a
        batch cut from a block of ``locality`` batches' worth of consecutive
        samples has few distinct titles to encode. Block boundaries move every
        epoch; samples are shuffled inside a block and batches across blocks.
        """
        size = self.batch_size
        block = size * self.locality
        offset = rng.randrange(block) if len(train) > block else 0
        cuts = [0, *range(offset or block, len(train), block), len(train)]
        out: list[list[Sample]] = []
        for start, stop in itertools.pairwise(cuts):
            chunk = train[start:stop]
            rng.shuffle(chunk)
            out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        rng.shuffle(out)
        return [b for b in out if b]

    def _embed_lr(self) -> float:
        """The embedding group's learning rate (0: the embeddings are not optimised)."""
        if not self.model.embedding.weight.requires_grad:
            return 0.0
        if self.fast_rows is not None:
            return self.lr * self.fast_lr_scale
        return self.lr * self.embed_lr_scale

    def _optimizer(self) -> AdamW:
        return adamw(self.model, self.lr, embed_lr=self._embed_lr(), weight_decay=self.weight_decay)

    def _slow_rows(self) -> tuple[torch.Tensor, float] | None:
        """([V, 1] bool rows to slow down, step ratio) when fast rows share the table.

        Adam's step does not depend on the gradient's scale, so per-row rates
        are applied after the step: a slow row moves ``ratio`` of its step,
        which equals a step at ``lr * embed_lr_scale``.
        """
        if self.fast_rows is None or self._embed_lr() <= 0:
            return None
        slow = ~self.fast_rows.to(self.device, torch.bool).unsqueeze(1)  # [V, 1]
        return slow, self.embed_lr_scale / self.fast_lr_scale

    def evaluate(self, samples: Sequence[Sample]) -> tuple[float, float, float]:
        """(mean NLL, mean AUC, mean nDCG@10) of ``samples`` in eval mode."""
        self.model.eval()
        losses: list[np.ndarray] = []
        logits_all: list[np.ndarray] = []
        with torch.inference_mode():
            step = self.batch_size * 4
            for start in range(0, len(samples), step):
                batch = collate(samples[start : start + step], self.titles, self.device)
                logits = self.model(
                    batch.tokens, batch.history, batch.history_mask, batch.candidates
                )  # [B, C]
                target = logits.new_zeros(logits.shape[0], dtype=torch.long)  # [B]
                loss = F.cross_entropy(logits, target, reduction="none")  # [B]
                losses.append(loss.cpu().numpy())
                logits_all.append(logits.float().cpu().numpy())
        auc, ndcg = ranking_metrics(np.concatenate(logits_all))
        return float(np.concatenate(losses).mean()), auc, ndcg

    def _better(
        self, current: tuple[float, float, float], best: tuple[float, float, float]
    ) -> bool:
        """Whether holdout figures (loss, auc, ndcg10) beat the best so far."""
        if self.monitor == "auc":
            return current[1] > best[1] or (current[1] == best[1] and current[0] < best[0])
        return current[0] < best[0]

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def fit(self, samples: Sequence[Sample]) -> TrainResult:
        """Train on ``samples`` (chronological: the latest are held out); see TrainResult.

        The embedding rows no title uses never move (no weight decay), so the run trains a
        table of the used rows alone (:class:`nrms_core.rows.UsedRows`) when ``used_rows``.
        """
        started = time.perf_counter()
        train, held = holdout_split(samples, self.holdout)
        devices = [self.device] if self.device.type == "cuda" else []
        saved = (self.titles, self.trainable_rows, self.fast_rows, self.on_selected)
        table = self.model.embedding.weight
        rows = None
        if self.used_rows and table.requires_grad and self.weight_decay == 0:
            rows = UsedRows(self.model, self.titles)
            self.titles, self.trainable_rows, self.fast_rows = (
                rows.titles,
                rows.mask(self.trainable_rows),
                rows.mask(self.fast_rows),
            )
            if saved[3] is not None:
                self.on_selected = rows.around(saved[3])
            rows.shrink()
        try:
            with torch.random.fork_rng(devices=devices, device_type=self.device.type):
                torch.manual_seed(self.seed)
                result = self._fit(train, held, started)
        finally:
            if rows is not None:
                rows.grow()
            self.titles, self.trainable_rows, self.fast_rows, self.on_selected = saved
        self.model.eval()
        return result

    def _epoch(
        self,
        train: list[Sample],
        epoch: int,
        optimizer: AdamW,
        rng: random.Random,
        anchor: Mapping[str, torch.Tensor],
        slow: tuple[torch.Tensor, float] | None,
    ) -> tuple[float, int, bool]:
        """One pass over ``train``: (mean batch loss, steps taken, cancelled)."""
        model = self.model
        embedding = model.embedding.weight
        order = self.batches(train, rng)
        model.train()
        total = 0.0
        for index, chunk in enumerate(order):
            if self.should_stop is not None and self.should_stop():
                return total / max(1, index), index, True
            loss = batch_loss(model, collate(chunk, self.titles, self.device))
            objective = loss
            if self.anchor_decay > 0:
                drift = torch.stack(
                    [
                        ((p - anchor[n]) ** 2).sum()
                        for n, p in model.named_parameters()
                        if n in anchor
                    ]
                ).sum()
                objective = loss + self.anchor_decay * drift
            optimizer.zero_grad(set_to_none=True)
            objective.backward()  # type: ignore[no-untyped-call]
            before = embedding.detach().clone() if slow is not None else None
            optimizer.step()
            if slow is not None and before is not None:
                with torch.no_grad():
                    moved = before + slow[1] * (embedding - before)  # [V, E]
                    embedding.copy_(torch.where(slow[0], moved, embedding))
            value = float(loss.detach())
            total += value
            if self.on_batch_end is not None:
                self.on_batch_end(Progress(epoch, self.epochs, index + 1, len(order), value))
        return total / max(1, len(order)), len(order), False

    def _refit(
        self,
        parts: tuple[list[Sample], list[Sample]],
        epochs: int,
        start_state: _State,
        rng: random.Random,
        anchor: _State,
        slow: tuple[torch.Tensor, float] | None,
    ) -> tuple[int, bool]:
        """Learn the held-out samples too, the model being in its chosen state: (steps,
        cancelled). From the starting weights for ``epochs`` over every sample, or, when
        that would pass ``refit_passes``, onward for one epoch over the held-out samples and
        as many training ones spread one by one over time (``parts``: (train, held)): in runs
        of neighbours, as the folds draw them, the round's final score did worse on later
        clicks (0.872 against 0.881 AUC at 2,000 clicks, 3 seeds)."""
        train, held = parts
        every = train + held
        if self.refit_passes is not None and epochs * len(every) > self.refit_passes:
            every = spread(train, len(held), run=1, seed=self.seed) + held
            epochs = 1
        else:
            self.model.load_state_dict(start_state)
        optimizer = self._optimizer()
        steps = 0
        for epoch in range(1, epochs + 1):
            _, taken, cancelled = self._epoch(every, epoch, optimizer, rng, anchor, slow)
            steps += taken
            if cancelled:
                return steps, True
        return steps, False

    def _fit(self, train: list[Sample], held: list[Sample], started: float) -> TrainResult:
        rng = random.Random(self.seed)
        model = self.model
        start_state = self._snapshot()
        best_state = start_state
        best: tuple[float, float, float] | None = None
        if held and self.keep_start:
            best = self.evaluate(held)
        anchor = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        hook = None
        if self.trainable_rows is not None:
            keep = self.trainable_rows.to(self.device, torch.float32).unsqueeze(1)  # [V, 1]
            hook = model.embedding.weight.register_hook(lambda g: g * keep)  # type: ignore[no-untyped-call]
        optimizer = self._optimizer()
        slow = self._slow_rows()
        steps = epochs_run = bad_epochs = best_epoch = 0
        train_loss: float | None = None
        stopped_early = cancelled = False
        try:
            for epoch in range(1, self.epochs + 1 if train else 1):
                mean, taken, cancelled = self._epoch(train, epoch, optimizer, rng, anchor, slow)
                steps += taken
                if cancelled:
                    break
                epochs_run = epoch
                train_loss = mean
                if not held:
                    best_state = self._snapshot()
                    continue
                current = self.evaluate(held)
                logger.debug("epoch %d: train %.4f holdout %.4f", epoch, train_loss, current[0])
                if best is None or self._better(current, best):
                    best, best_state, bad_epochs, best_epoch = current, self._snapshot(), 0, epoch
                else:
                    bad_epochs += 1
                    if 0 < self.patience <= bad_epochs:
                        stopped_early = True
                        break
            if self.on_selected is not None and held and not cancelled:
                model.load_state_dict(best_state)
                self.on_selected()
            if self.refit and held and best_epoch > 0 and not cancelled:
                # The holdout chose how many epochs; now learn from the latest clicks too.
                taken, cancelled = self._refit(
                    (train, held), best_epoch, start_state, rng, anchor, slow
                )
                steps += taken
                if not cancelled:
                    best_state = self._snapshot()
        finally:
            if hook is not None:
                hook.remove()
        model.load_state_dict(best_state)
        seconds = time.perf_counter() - started
        figures = (steps, epochs_run, len(train) + len(held), seconds, best and round(best[0], 4))
        logger.info("trained %d steps, %d epochs, %d samples in %.1f s (holdout %s)", *figures)
        return TrainResult(
            epochs_run=epochs_run,
            steps=steps,
            train_loss=train_loss,
            holdout_loss=None if best is None else best[0],
            holdout_auc=None if best is None else best[1],
            holdout_ndcg10=None if best is None else best[2],
            samples=len(train) + len(held),
            seconds=seconds,
            stopped_early=stopped_early,
            cancelled=cancelled,
            device=str(self.device),
            epochs_kept=best_epoch if held else epochs_run,
        )
