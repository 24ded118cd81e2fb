"""Resumable training for ``--protocol general --resume PATH``: plain epochs over every train
sample, with the model, the optimizer and the epoch saved after each epoch.

A long general run (MIND-small is about 225,000 samples an epoch) should survive being
stopped. With ``--resume PATH`` the general protocol trains this way instead of through
``Recommender.fine_tune`` (which picks its epoch on a holdout, refits and cross-fits, and
cannot stop half way): ``epochs`` epochs of shuffled batches with AdamW at the fine-tuning
rate (the word embeddings at ``embed_lr_scale`` of it), then the click biases fitted on the
train sessions. A step is the trainer's (:func:`nrms_core.trainer.collate`,
:func:`~nrms_core.trainer.batch_loss`, :func:`nrms_core.optimizer.adamw`); only the order of
the batches is this module's. Each epoch's order and dropout are seeded by the seed and the
epoch alone, so a run stopped after epoch k and resumed ends with the weights of one that
never stopped.

After each epoch ``PATH`` is written as a Heedful checkpoint (the model; its metadata holds
the epoch and what the run trains on), then ``PATH.optimizer`` beside it (the optimizer's
state with its sha256, and the sha256 of ``PATH``). Both are written atomically and read
with ``torch.load(weights_only=True)``; a pair that is not what this run wrote (another
run's, a changed or damaged file, or a model without its optimizer file) is refused with
:class:`~nrms_core.checkpoint.CheckpointError`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nrms_core import checkpoint
from nrms_core.checkpoint import CheckpointError
from nrms_core.optimizer import AdamW, adamw
from nrms_core.sampling import Sample
from nrms_core.trainer import batch_loss, collate

if TYPE_CHECKING:
    from nrms_core.recommender import Recommender

__all__ = ["optimizer_path", "train_resumable"]

_LOG = logging.getLogger(__name__)
_KEY = "general_resume"
_FORMAT = "heedful-general-resume-1"
_BATCH = 32


def optimizer_path(path: Path) -> Path:
    """Where the optimizer's state of the resume file ``path`` lives."""
    return path.with_name(path.name + ".optimizer")


def _optimizer(rec: Recommender, lr: float) -> AdamW:
    """The trainer's AdamW: the word embeddings at ``embed_lr_scale`` of ``lr``."""
    config = rec.config
    return adamw(
        rec.model, lr, embed_lr=lr * config.embed_lr_scale, weight_decay=config.weight_decay
    )


def _save(path: Path, rec: Recommender, optimizer: AdamW, run: dict[str, Any]) -> None:
    """The model, then the optimizer file that names the model file's sha256."""
    model_sha = rec.save(path, meta={**rec.meta, _KEY: run})
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    state = buffer.getvalue()
    payload = {
        "format": _FORMAT,
        "model_sha256": model_sha,
        "optimizer_sha256": _sha(state),
        "optimizer": torch.frombuffer(bytearray(state), dtype=torch.uint8),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    checkpoint.write_atomic(optimizer_path(path), buffer.getvalue())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_optimizer(path: Path, state: object, optimizer: torch.optim.Optimizer) -> None:
    """Refuse an optimizer state that does not fit this model's parameters."""
    if not isinstance(state, dict) or set(state) != {"state", "param_groups"}:
        raise CheckpointError(f"{path}: not an optimizer state")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    groups = state["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        raise CheckpointError(f"{path}: optimizer groups do not match the model")
    entries = state["state"]
    if not isinstance(entries, dict):
        raise CheckpointError(f"{path}: optimizer state is not a mapping")
    for index, entry in entries.items():
        if not isinstance(index, int) or not 0 <= index < len(params):
            raise CheckpointError(f"{path}: optimizer state for an unknown parameter")
        if not isinstance(entry, dict):
            raise CheckpointError(f"{path}: optimizer state entry is not a mapping")
        for name, value in entry.items():
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{path}: optimizer value {name} is not a tensor")
            if name != "step" and value.shape != params[index].shape:
                raise CheckpointError(f"{path}: optimizer value {name} has the wrong shape")
            if not bool(torch.isfinite(value).all()):
                raise CheckpointError(f"{path}: optimizer value {name} holds non-finite values")


def _optimizer_state(path: Path, moment: Path) -> tuple[bytes, dict[str, Any]]:
    """(the bytes of the model file ``path``, the optimizer's state saved beside it), once
    both files' hashes check out; the model is then read from those bytes, not again."""
    try:
        model = path.read_bytes()
        payload = torch.load(moment, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{exc.filename}: no such file") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read {moment}: {exc}") from exc
    except Exception as exc:  # any unpickling or zip failure means a bad file
        raise CheckpointError(f"{moment}: not a readable optimizer file") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"{moment}: not an optimizer file of --protocol general")
    if payload.get("model_sha256") != _sha(model):
        raise CheckpointError(f"{path}: does not match {moment.name} (changed or damaged)")
    blob = payload.get("optimizer")
    if not isinstance(blob, torch.Tensor) or blob.dtype != torch.uint8:
        raise CheckpointError(f"{moment}: no optimizer state")
    data = blob.numpy().tobytes()
    if payload.get("optimizer_sha256") != _sha(data):
        raise CheckpointError(f"{moment}: the optimizer state was changed or damaged")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure means a bad file
        raise CheckpointError(f"{moment}: not a readable optimizer state") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{moment}: not an optimizer state")
    return model, state


def _resume(path: Path, rec: Recommender, run: Mapping[str, Any]) -> tuple[Recommender, AdamW, int]:
    """(the model of ``path``, its optimizer, the epochs it has done); CheckpointError when it
    is not this run's."""
    from nrms_core.recommender import Recommender

    moment = optimizer_path(path)
    content, state = _optimizer_state(path, moment)
    data = checkpoint.load(path, content=content)
    saved = Recommender.from_checkpoint(data, device=rec.device, copy=False)
    record = saved.meta.get(_KEY)
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: not a resume file of --protocol general")
    differs = sorted(k for k, v in run.items() if record.get(k) != v)  # not the epoch target
    if differs:
        raise CheckpointError(f"{path}: written by another run (differs in {', '.join(differs)})")
    epoch = record.get("epoch")
    if not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"{path}: no valid epoch count")
    if len(saved.vocab) != len(rec.vocab):
        raise CheckpointError(f"{path}: the vocabulary does not match this data")
    fresh = _optimizer(saved, float(run["lr"]))
    _check_optimizer(moment, state, fresh)
    try:
        fresh.load_state_dict(state)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{moment}: optimizer state does not fit: {exc}") from exc
    return saved, fresh, epoch


def train_resumable(
    rec: Recommender,
    samples: Sequence[Sample],
    titles: Mapping[int, str],
    sources: Mapping[int, str] | None,
    sessions: Sequence[Sample],
    *,
    path: Path,
    epochs: int,
    seed: int,
    lr: float | None = None,
) -> tuple[Recommender, dict[str, Any]]:
    """Train ``rec`` (or the model saved at ``path``, when it exists) up to ``epochs`` epochs;
    returns the trained model and figures (epochs done here and in all, seconds, samples/s)."""
    rate = lr or rec.config.fine_tune_lr
    run = {"seed": seed, "samples": len(samples), "lr": rate}  # what a resumed run must share
    src = sources or {}
    order = sorted(titles)
    rec.add_titles((titles[a] for a in order), (src.get(a) for a in order))
    if path.exists():
        rec, optimizer, done = _resume(path, rec, run)
        _LOG.info("resuming from %s after epoch %d", path, done)
    else:
        optimizer, done = _optimizer(rec, rate), 0
    model = rec.model
    device = torch.device(rec.device)
    needed = {a for s in samples for a in (*s.history, *s.candidates)}
    tokens = {a: rec._ids(titles[a], src.get(a)) for a in needed}
    started = time.perf_counter()
    trained = 0
    loss_sum, batches = 0.0, 0
    for epoch in range(done + 1, epochs + 1):
        rng = random.Random(seed * 1_000_003 + epoch)
        shuffled = list(samples)
        rng.shuffle(shuffled)
        torch.manual_seed(seed * 1_000_003 + epoch)
        model.train()
        for start in range(0, len(shuffled), _BATCH):
            loss = batch_loss(model, collate(shuffled[start : start + _BATCH], tokens, device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            loss_sum += float(loss.detach())
            batches += 1
        model.eval()
        trained += 1
        _save(path, rec, optimizer, {**run, "epoch": epoch, "epochs": epochs})
        _LOG.info("epoch %d/%d saved to %s", epoch, epochs, path)
    seconds = time.perf_counter() - started
    if rec.config.feed_bias:
        rec.fit_bias(sessions, titles, sources)
    figures = {
        "epochs_resumed_from": done,
        "epochs_trained": trained,
        "epochs_run": done + trained,
        "train_loss": loss_sum / batches if batches else None,
        "seconds": seconds,
        "samples_per_second": len(samples) * trained / seconds if trained and seconds else None,
    }
    return rec, figures
