"""Data-parallel pretraining of NRMS on a MIND-format train folder.

Run on N GPUs with ``torchrun --nproc_per_node=N -m nrms_core.mind.pretrain --train DIR
--out CHECKPOINT``, or as a plain single process (``python -m nrms_core.mind.pretrain``),
which is world size 1 over gloo on CPU. Every rank builds the same vocabulary and
samples from the same seed; DistributedDataParallel averages the gradients, a
DistributedSampler splits the samples, and rank 0 writes the checkpoint, which
``--base`` of ``nrms_core.mind.evaluate`` and the application can start from.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn import functional as F  # noqa: N812
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from nrms_core.checkpoint import CheckpointError
from nrms_core.config import NRMSConfig
from nrms_core.mind.protocol import behavior_samples
from nrms_core.mind.reader import read_mind
from nrms_core.optimizer import adamw
from nrms_core.recommender import Recommender
from nrms_core.tokenizer import tokenize
from nrms_core.trainer import collate, ranking_metrics

__all__ = ["main", "pretrain"]

_LOG = logging.getLogger(__name__)


class _Indices(Dataset[int]):
    """The sample indices 0..n-1, as the dataset a DistributedSampler splits."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        return index


def _init(device_choice: str, store_dir: Path) -> tuple[int, int, torch.device]:
    """Join (or, without torchrun, create) the process group; returns (rank, world, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device_choice != "cpu" and torch.cuda.is_available()
    if device_choice == "cuda" and not cuda:
        raise RuntimeError("CUDA was requested but no CUDA device is available")
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    backend = "nccl" if cuda else "gloo"
    if "MASTER_ADDR" in os.environ and world > 1:
        dist.init_process_group(backend=backend)
    else:
        store = dist.FileStore(str(store_dir / "store"), 1)  # type: ignore[attr-defined]
        dist.init_process_group(backend=backend, store=store, rank=0, world_size=1)
        rank, world = 0, 1
    return rank, world, device


def pretrain(
    train_dir: Path,
    out: Path,
    *,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float | None = None,
    negatives: int = 4,
    seed: int = 0,
    device: str | None = None,
    pretrained: bool = True,
    holdout: float = 0.02,
) -> dict[str, float]:
    """Train on every click of ``train_dir`` and save to ``out`` (rank 0); returns figures.

    The process group must already exist; see :func:`main`.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    data = read_mind(train_dir)
    ids = {news_id: i for i, news_id in enumerate(data.news)}
    titles = [item.title for item in data.news.values()]
    rng = random.Random(seed)
    config = NRMSConfig(negatives=negatives)
    samples = behavior_samples(
        data.behaviors, ids, negatives=negatives, max_history=config.max_history, rng=rng
    )
    if not samples:
        raise ValueError(f"no clicks with skipped news to learn from in {train_dir}")
    n_hold = int(len(samples) * holdout) if len(samples) >= 50 else 0
    train, held = samples[: len(samples) - n_hold], samples[len(samples) - n_hold :]
    rec = Recommender.create(config, device=device, seed=seed, pretrained=pretrained)
    rec.add_titles(titles)
    token_ids = {i: rec.vocab.ids(tokenize(t, config.max_title)) for i, t in enumerate(titles)}
    module = rec.model
    run_device = next(module.parameters()).device
    ddp = DistributedDataParallel(
        module, device_ids=[run_device.index] if run_device.type == "cuda" else None
    )
    base_lr = lr or config.lr
    optimizer = adamw(  # the trainer's groups, without torch.compile's guards
        module,
        base_lr,
        embed_lr=base_lr * config.embed_lr_scale,
        weight_decay=config.weight_decay,
    )
    sampler: DistributedSampler[int] = DistributedSampler(
        _Indices(len(train)), num_replicas=world, rank=rank, shuffle=True, seed=seed
    )
    started = time.perf_counter()
    torch.manual_seed(seed + rank)
    loss_value = math.nan
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        order = list(sampler)
        module.train()
        total = torch.zeros(2, device=run_device)  # [sum of losses, batches]
        for start in range(0, len(order), batch_size):
            batch = collate(
                [train[i] for i in order[start : start + batch_size]], token_ids, run_device
            )
            logits = ddp(batch.tokens, batch.history, batch.history_mask, batch.candidates)
            target = logits.new_zeros(logits.shape[0], dtype=torch.long)  # [B]
            loss = F.cross_entropy(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += torch.stack([loss.detach(), torch.ones((), device=run_device)])
        dist.all_reduce(total)
        loss_value = float(total[0] / total[1].clamp(min=1))
        if rank == 0:
            _LOG.info("epoch %d/%d: train loss %.4f", epoch + 1, epochs, loss_value)
    seconds = time.perf_counter() - started
    figures = {"train_loss": loss_value, "seconds": seconds, "samples": float(len(train))}
    if rank == 0:
        if held:
            module.eval()
            with torch.inference_mode():
                batch = collate(held, token_ids, run_device)
                logits = module(batch.tokens, batch.history, batch.history_mask, batch.candidates)
                auc, ndcg = ranking_metrics(logits.float().cpu().numpy())
            figures.update(holdout_auc=auc, holdout_ndcg10=ndcg)
        meta: dict[str, object] = {
            "pretrained_on": str(train_dir),
            "epochs": epochs,
            "world_size": world,
            **{k: float(v) for k, v in figures.items()},
        }
        rec.save(out, meta=meta)
    dist.barrier()
    return figures


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nrms_core.mind.pretrain", description=__doc__)
    p.add_argument("--train", type=Path, required=True, help="MIND-format train folder")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--negatives", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; 1 with one line on stderr for known errors."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.epochs < 1 or args.batch_size < 1 or args.negatives < 1:
        sys.stderr.write("error: --epochs, --batch-size and --negatives must be >= 1\n")
        return 1
    with tempfile.TemporaryDirectory(prefix="heedful-pretrain-") as tmp:
        try:
            rank, _, run_device = _init(args.device, Path(tmp))
        except RuntimeError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
        try:
            figures = pretrain(
                args.train,
                args.out,
                epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                negatives=args.negatives,
                seed=args.seed,
                device=str(run_device),
                pretrained=args.pretrained,
            )
        except (FileNotFoundError, ValueError, CheckpointError, OSError) as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
        finally:
            dist.destroy_process_group()
    if rank == 0:
        sys.stdout.write(" ".join(f"{k}={v:.4f}" for k, v in figures.items()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
