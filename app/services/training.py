"""A training round's progress and report, and the baseline it is measured against."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nrms_core import Progress, Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainProgress:
    """Progress of a training round, for a progress bar."""

    stage: str
    fraction: float
    loss: float | None = None


@dataclass(frozen=True)
class TrainReport:
    """What a training round did."""

    version: int | None
    clicks_used: int
    samples: int
    epochs: int
    train_loss: float | None
    holdout_auc: float | None
    holdout_ndcg10: float | None
    device: str
    seconds: float
    cancelled: bool
    warm_started: bool
    holdout_click_auc: float | None = None
    """Held-out AUC of the click score the ranking uses (the model's score with its feed and
    word biases, fitted without the held-out clicks)."""
    decision: str = ""
    """The guard's decision (:mod:`app.services.guard`): published, kept or rejected."""
    reason: str = ""
    """The decision in words, with its figures ("rejected: worse than the model in use ...")."""
    published: bool = False
    """Whether this round (or, when no model earns its keep, ClickBias) became the model in
    use; ``version`` is the model in use after the round either way."""
    ranking_mode: str = "model"
    """What "For you" ranks with after the round: model, clickbias or latest."""
    held_out: int = 0
    """Held-out clicks the round was judged on."""
    held_out_candidates: int = 0
    too_few_held_out: bool = False
    """Too few held-out clicks (or candidates) for the held-out figure to mean anything."""
    current_auc: float | None = None
    """The model in use's held-out AUC on the same clicks (None: no model was in use)."""
    clickbias_auc: float | None = None
    baseline_auc: float | None = None
    noise: float | None = None
    """The noise margin the round was allowed below the model in use."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return dict(self.__dict__)

    def summary(self) -> str:
        """One line for people: what the round did, its held-out figure beside the model in
        use and the baselines, and the guard's decision."""
        if self.cancelled:
            return "training cancelled; the previous model stays in use"
        if self.too_few_held_out:
            auc = f"n/a (too few held-out clicks: {self.held_out})"
        else:
            auc = "n/a" if self.holdout_auc is None else f"{self.holdout_auc:.3f}"
            if self.holdout_click_auc is not None:
                auc += f", {self.holdout_click_auc:.3f} with the feed and word biases"
        beside = [
            f"{name} {value:.3f}"
            for name, value in (
                ("in use", self.current_auc),
                ("ClickBias", self.clickbias_auc),
                ("TF-IDF", self.baseline_auc),
            )
            if value is not None and not self.too_few_held_out
        ]
        if beside:
            auc += f" ({', '.join(beside)})"
        head = (
            f"model version {self.version}" if self.published else "training round (not published)"
        )
        line = (
            f"{head}: {self.clicks_used} clicks, {self.samples} samples, "
            f"{self.epochs} epochs on {self.device} in {self.seconds:.1f} s, "
            f"held-out AUC {auc}"
        )
        return f"{line}; {self.reason}" if self.reason else line


def fraction(progress: Progress) -> float:
    """How far a training run is, 0..1."""
    total = max(1, progress.batches * max(1, progress.epochs))
    return min(1.0, ((progress.epoch - 1) * progress.batches + progress.batch) / total)


def source_of(feed_id: int) -> str:
    """The source name the model (and the baseline) is given for an article of this feed:
    its id, which survives renames."""
    return f"feed{feed_id}"


def baseline_auc(
    samples: Sequence[Sample],
    titles: Mapping[int, str],
    feeds_of: Mapping[int, int],
    *,
    holdout: float,
) -> float | None:
    """Held-out AUC of a per-reader TF-IDF logistic regression on the same clicks.

    The samples are split as the trainer splits them (the latest ``holdout`` share held out),
    so the figure stands beside the model's held-out AUC. None when nothing is held out.
    """
    from nrms_core import TfidfLogistic, auc, document, holdout_split

    train, test = holdout_split(samples, holdout)
    if not test:
        return None

    def docs(ids: Sequence[int]) -> list[tuple[str, ...]]:
        return [document(titles[a], source_of(feeds_of.get(a, 0))) for a in ids]

    def labels(n: int) -> list[int]:
        return [1] + [0] * (n - 1)  # the positive is first

    model = TfidfLogistic()
    model.fit([(docs(s.candidates), labels(len(s.candidates))) for s in train])
    scores = [
        auc(labels(len(s.candidates)), model.score(docs(s.history), docs(s.candidates)))
        for s in test
        if len(s.candidates) > 1
    ]
    return float(sum(scores) / len(scores)) if scores else None
