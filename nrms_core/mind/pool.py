"""The personal protocol's readers: each fine-tunes its own copy of the base model and scores
its dev impressions, in this process or in worker processes.

The base model is read (and validated) from its checkpoint once per process; each reader then
starts from a fresh model built from that copy in memory, which is what loading the
checkpoint again would give, without reading and checking the file per reader. Everything
random in a reader's work is seeded by the protocol's seed (the samples are drawn before the
readers are dealt out, in the readers' order), so the figures do not depend on how many
processes share the work, and the outcomes come back in the readers' order.

Worker processes are started fresh (``spawn``), with ``OMP_WAIT_POLICY=PASSIVE`` set before
torch loads in them (waiting OpenMP threads sleep instead of spinning on a shared machine),
and each uses its share of the cores (``torch.set_num_threads``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from nrms_core.mind.reader import Behavior
from nrms_core.sampling import Sample

if TYPE_CHECKING:
    from nrms_core.checkpoint import Checkpoint
    from nrms_core.recommender import Recommender
    from nrms_core.trainer import TrainResult

__all__ = [
    "ENCODE_BATCH",
    "Catalog",
    "Outcome",
    "Scored",
    "Task",
    "labels",
    "run_readers",
    "score_behaviors",
    "threads_per_job",
]

_LOG = logging.getLogger(__name__)

ENCODE_BATCH = 2048
Scored = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class Catalog:
    """The news every reader may meet: interned ids, titles and sources by id."""

    ids: Mapping[str, int]
    titles: Mapping[int, str]
    sources: Mapping[int, str] | None


@dataclass(frozen=True)
class Task:
    """One reader's work: the samples to fine-tune on (none: score with the base model), the
    click sessions the biases are fitted on, and the dev impressions to score."""

    user: str
    samples: Sequence[Sample]
    sessions: Sequence[Sample]
    dev: Sequence[Behavior]


@dataclass(frozen=True)
class Outcome:
    """One reader's result: its scored dev impressions and the fine-tuning run, if any."""

    user: str
    scored: list[tuple[str, Scored]]
    fit: TrainResult | None
    samples: int


@dataclass(frozen=True)
class _Settings:
    base: Path
    device: str | None
    epochs: int | None
    lr: float | None
    seed: int
    threads: int


def labels(behavior: Behavior) -> npt.NDArray[np.float64]:
    """The impression's click labels [n] (1 clicked, 0 skipped) in shown order."""
    return np.array([label for _, label in behavior.impressions], dtype=np.float64)


def score_behaviors(
    rec: Recommender, catalog: Catalog, behaviors: Sequence[Behavior]
) -> Iterator[tuple[str, Scored]]:
    """Score each behavior's candidates; the news they mention are encoded once, in batches."""
    ids, titles = catalog.ids, catalog.titles
    sources = catalog.sources if catalog.sources else None
    needed = sorted(
        {ids[n] for b in behaviors for n in (*b.history, *(c for c, _ in b.impressions))}
    )
    row = {news: i for i, news in enumerate(needed)}
    chunks = []
    for start in range(0, len(needed), ENCODE_BATCH):
        part = needed[start : start + ENCODE_BATCH]
        names = [sources.get(i) for i in part] if sources else None
        chunks.append(rec.encode([titles[i] for i in part], names))
    vectors = np.concatenate(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)
    for behavior in behaviors:
        hist = vectors[[row[ids[n]] for n in behavior.history[-rec.config.max_history :]]]
        user = rec.user_vector(hist)
        cands = vectors[[row[ids[n]] for n, _ in behavior.impressions]]
        shown = [ids[n] for n, _ in behavior.impressions]
        names = [sources.get(i) for i in shown] if sources else None
        scores = np.asarray(rec.score(user, cands, names, [titles[i] for i in shown]), np.float64)
        yield behavior.user_id, (labels(behavior), scores)


def threads_per_job(jobs: int) -> int:
    """A fair share of this machine's cores for each of ``jobs`` processes (at least 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, jobs))


class _Reader:
    """What one process needs to run readers: the base checkpoint, read once, and the news."""

    def __init__(self, settings: _Settings, catalog: Catalog) -> None:
        from nrms_core import checkpoint

        self.settings = settings
        self.catalog = catalog
        self.base: Checkpoint = checkpoint.load(settings.base)

    def fresh(self) -> Recommender:
        """A model as ``Recommender.load(base)`` gives it, built from the copy in memory."""
        from nrms_core.recommender import Recommender

        return Recommender.from_checkpoint(self.base, device=self.settings.device)

    def run(self, task: Task) -> Outcome:
        """Fine-tune a fresh copy on the reader's samples, then score its dev impressions."""
        rec = self.fresh()
        fit = None
        if task.samples:
            fit = rec.fine_tune(
                task.samples,
                self.catalog.titles,
                self.catalog.sources,
                epochs=self.settings.epochs,
                lr=self.settings.lr,
                sessions=task.sessions,
                seed=self.settings.seed,
            )
        scored = list(score_behaviors(rec, self.catalog, task.dev))
        return Outcome(task.user, scored, fit, len(task.samples))


_WORKER: _Reader | None = None


def _start_worker(settings: _Settings, catalog: Catalog) -> None:
    """A worker process's initializer: its thread share, then the base model."""
    import torch

    global _WORKER
    torch.set_num_threads(settings.threads)
    _WORKER = _Reader(settings, catalog)


def _run_task(task: Task) -> Outcome:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.run(task)


@contextmanager
def _passive_openmp() -> Iterator[None]:
    """``OMP_WAIT_POLICY=PASSIVE`` in the environment the workers inherit (unless set)."""
    had = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        yield
    finally:
        if had is None:
            os.environ.pop("OMP_WAIT_POLICY", None)


def run_readers(
    tasks: Sequence[Task],
    catalog: Catalog,
    *,
    base: Path,
    device: str | None,
    epochs: int | None,
    lr: float | None,
    seed: int,
    jobs: int = 1,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every task (``jobs`` > 1: in that many worker processes); outcomes in task order.

    ``on_done`` is called in this process as each reader finishes (in finishing order).
    """
    settings = _Settings(base, device, epochs, lr, seed, threads_per_job(jobs))
    if jobs <= 1 or len(tasks) <= 1:
        reader = _Reader(settings, catalog)
        outcomes = []
        for task in tasks:
            outcomes.append(reader.run(task))
            if on_done is not None:
                on_done(outcomes[-1])
        return outcomes
    results: dict[int, Outcome] = {}
    context = multiprocessing.get_context("spawn")
    with (
        _passive_openmp(),  # workers start on the first submit and inherit the environment
        ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)),
            mp_context=context,
            initializer=_start_worker,
            initargs=(settings, catalog),
        ) as executor,
    ):
        pending: dict[Future[Outcome], int] = {
            executor.submit(_run_task, task): i for i, task in enumerate(tasks)
        }
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    results[index] = future.result()
                    if on_done is not None:
                        on_done(results[index])
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise
    _LOG.info("%d readers in %d worker processes", len(tasks), jobs)
    return [results[i] for i in range(len(tasks))]
