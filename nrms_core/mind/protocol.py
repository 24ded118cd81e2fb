"""How NRMS and the per-reader baselines are trained and scored on MIND-format data.

The command line that runs these protocols and writes their figures is
:mod:`nrms_core.mind.evaluate`; its help text is this description too.

Samples: every click in a train impression is a positive with K negatives drawn
(with the seed) from the same impression's skipped news, with replacement only
when there are fewer than K; its history is the behavior's history column (last
``max_history``). ``general`` fine-tunes one model on all train impressions (the
paper's setting); ``personal`` fine-tunes a separate copy of the base model for
each dev user on that user's train impressions only (the desktop case). The base
model is GloVe-initialised (or loaded with ``--base``) and, unless
``--no-warm-start``, warm-started on all titles with the news category as the
label. Unless ``--no-source-token``, NRMS also sees each news item's category as
its source: a ``<src:CATEGORY>`` token placed first in the title (see
Recommender.encode). Metrics follow MIND: per impression, averaged over all dev impressions;
``personal`` also reports the mean of per-user means. News vectors are encoded
once per model, in batches.

With ``--baselines`` the baselines of nrms_core.baseline are fitted per user on
that user's train impressions (in both protocols); their documents are the title
plus the news category as one extra token (``--baselines-titles-only`` drops it),
and Recency ranks by the first time a news id appears in any impression.
"""

from __future__ import annotations

import logging
import math
import random
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nrms_core.baseline import (
    Baseline,
    ClickBias,
    Doc,
    Recency,
    TfidfCentroid,
    TfidfLogistic,
    document,
)
from nrms_core.config import WARM_EPOCHS, WARM_SAMPLES
from nrms_core.metrics import evaluate_impressions
from nrms_core.mind.pool import Catalog, Scored, Task, labels, run_readers, score_behaviors
from nrms_core.mind.progress import Progress
from nrms_core.mind.reader import Behavior, MindData, NewsItem, read_mind
from nrms_core.sampling import Sample

if TYPE_CHECKING:
    from nrms_core.config import NRMSConfig
    from nrms_core.recommender import Recommender
    from nrms_core.trainer import TrainResult

__all__ = [
    "METRICS",
    "EvalData",
    "EvalError",
    "Options",
    "behavior_samples",
    "evaluate_baselines",
    "evaluate_nrms",
    "load_data",
]

_LOG = logging.getLogger(__name__)

METRICS = ("auc", "mrr", "ndcg5", "ndcg10")


class EvalError(Exception):
    """A known problem with the input (missing files, empty data); the message says what."""


@dataclass(frozen=True)
class Options:
    """What to train and how; ``config`` overrides the model's defaults when given."""

    protocol: str = "personal"
    seed: int = 0
    epochs: int | None = None
    device: str = "auto"
    base: Path | None = None
    warm_start: bool = True
    warm_epochs: int = WARM_EPOCHS
    warm_samples: int = WARM_SAMPLES
    lr: float | None = None
    pretrained: bool = True
    negatives: int = 4
    max_history: int = 50
    baselines: bool = False
    recency: str = "first_seen"
    category_token: bool = True
    source_token: bool = True
    source_rate: float = 0.5
    config: NRMSConfig | None = None
    users: int | None = None
    jobs: int = 1
    progress: bool = False
    resume: Path | None = None

    def __post_init__(self) -> None:
        if self.protocol not in ("general", "personal"):
            raise ValueError(f"unknown protocol {self.protocol!r}")
        if self.recency not in ("first_seen", "order"):
            raise ValueError(f"unknown recency mode {self.recency!r}")
        if (
            (self.epochs is not None and self.epochs < 1)
            or self.negatives < 1
            or self.max_history < 1
        ):
            raise ValueError("epochs, negatives and max_history must be >= 1")
        if self.warm_epochs < 1 or self.warm_samples < 1:
            raise ValueError("warm_epochs and warm_samples must be >= 1")
        if not 0.0 <= self.source_rate <= 1.0:
            raise ValueError("source_rate must be in [0, 1]")
        if (self.users is not None and self.users < 1) or self.jobs < 1:
            raise ValueError("users and jobs must be >= 1")


@dataclass
class EvalData:
    """Train and dev folders with news interned to integer ids (0..N-1)."""

    train: MindData
    dev: MindData
    ids: dict[str, int] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        news: dict[str, NewsItem] = {**self.dev.news, **self.train.news}
        for index, (news_id, item) in enumerate(news.items()):
            self.ids[news_id] = index
            self.titles[index] = item.title
            self.groups[index] = item.category or "unknown"
            if item.category:
                self.sources[index] = item.category
        row = 0.0
        for behavior in (*self.train.behaviors, *self.dev.behaviors):
            row += 1.0
            when = behavior.time.timestamp() if behavior.time else row
            for news_id, _ in behavior.impressions:
                if when < self.first_seen.get(news_id, math.inf):
                    self.first_seen[news_id] = when

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f"train {p}" for p in self.train.problems) + tuple(
            f"dev {p}" for p in self.dev.problems
        )

    def news_item(self, news_id: str) -> NewsItem:
        return self.train.news.get(news_id) or self.dev.news[news_id]


def load_data(train_dir: Path, dev_dir: Path) -> EvalData:
    """Read both folders (dev may refer to train's news); EvalError for missing or empty data."""
    try:
        train = read_mind(train_dir)
        dev = read_mind(dev_dir, extra_news=train.news)
    except FileNotFoundError as exc:
        raise EvalError(str(exc)) from None
    except OSError as exc:
        raise EvalError(f"cannot read data: {exc}") from None
    if not train.behaviors or not any(b.clicked for b in train.behaviors):
        raise EvalError(f"no usable train impressions with clicks in {train_dir}")
    if not any(b.clicked for b in dev.behaviors):
        raise EvalError(f"no usable dev impressions with clicks in {dev_dir}")
    return EvalData(train, dev)


def behavior_samples(
    behaviors: Iterable[Behavior],
    ids: Mapping[str, int],
    *,
    negatives: int | None,
    max_history: int,
    rng: random.Random,
) -> list[Sample]:
    """One sample per click of MIND's behaviors: (history [<= max_history], candidates
    [1 + negatives]); the reader's own clicks become samples in
    :func:`nrms_core.sampling.build_samples`.

    Negatives come from the same impression's skipped news, without replacement
    unless there are fewer than ``negatives``; ``negatives=None`` takes all of them,
    in their order (the groups a feed bias is fitted on). A click in an impression
    with no skipped news yields no sample.
    """
    out: list[Sample] = []
    for behavior in behaviors:
        skipped = [ids[n] for n in behavior.skipped]
        if not skipped:
            continue
        history = tuple(ids[n] for n in behavior.history[-max_history:])
        for news_id in behavior.clicked:
            if negatives is None:
                chosen = skipped
            elif len(skipped) >= negatives:
                chosen = rng.sample(skipped, negatives)
            else:
                chosen = [rng.choice(skipped) for _ in range(negatives)]
            out.append(Sample(history, (ids[news_id], *chosen)))
    return out


def _by_user(behaviors: Iterable[Behavior]) -> dict[str, list[Behavior]]:
    out: dict[str, list[Behavior]] = {}
    for behavior in behaviors:
        out.setdefault(behavior.user_id, []).append(behavior)
    return out


def dev_readers(data: EvalData, options: Options) -> dict[str, list[Behavior]]:
    """The dev readers to evaluate, in the order they first appear in the dev impressions:
    all of them, or the first ``options.users``."""
    readers = _by_user(data.dev.behaviors)
    if options.users is None:
        return readers
    return dict(list(readers.items())[: options.users])


def _summary(scored: Sequence[tuple[str, Scored]]) -> dict[str, Any]:
    """Metrics over all impressions plus the mean of per-user means."""
    result: dict[str, Any] = dict(evaluate_impressions(s for _, s in scored))
    result["impressions"] = int(result["impressions"])
    result["auc_impressions"] = int(result["auc_impressions"])
    per_user: dict[str, list[Scored]] = {}
    for user, s in scored:
        per_user.setdefault(user, []).append(s)
    user_means = [evaluate_impressions(items) for items in per_user.values()]
    result["users"] = len(per_user)
    result["per_user_mean"] = {name: _nanmean([m[name] for m in user_means]) for name in METRICS}
    return result


def _nanmean(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


# -- NRMS -------------------------------------------------------------------------------


def _make_base(data: EvalData, options: Options) -> tuple[Recommender, float]:
    """The base model: created (or loaded), vocabulary grown, optionally warm-started."""
    from nrms_core.recommender import Recommender

    device = None if options.device == "auto" else options.device
    if options.base is not None:
        rec = Recommender.load(options.base, device=device)
    else:
        rec = Recommender.create(
            config=options.config, device=device, seed=options.seed, pretrained=options.pretrained
        )
    order = sorted(data.titles)
    titles = [data.titles[i] for i in order]
    rec.add_titles(titles)
    started = time.perf_counter()
    if options.warm_start:
        groups = [data.groups[i] for i in order]
        rec.warm_start(
            titles,
            groups,
            epochs=options.warm_epochs,
            max_samples=options.warm_samples,
            source_rate=options.source_rate if options.source_token else 0.0,
            seed=options.seed,
        )
    return rec, time.perf_counter() - started


def _fit_summary(fits: Sequence[TrainResult]) -> dict[str, float]:
    """Means over the fine-tuning runs: epochs kept, early stops, losses, holdout AUC."""

    def mean(values: Iterable[float | None]) -> float:
        return _nanmean([math.nan if v is None else float(v) for v in values])

    return {
        "runs": len(fits),
        "epochs_run": mean(f.epochs_run for f in fits),
        "stopped_early": mean(float(f.stopped_early) for f in fits),
        "train_loss": mean(f.train_loss for f in fits),
        "holdout_loss": mean(f.holdout_loss for f in fits),
        "holdout_auc": mean(f.holdout_auc for f in fits),
    }


def evaluate_nrms(data: EvalData, options: Options) -> dict[str, Any]:
    """Train NRMS by ``options.protocol`` and evaluate it on the dev impressions (of the
    first ``options.users`` dev readers when given)."""
    rng = random.Random(options.seed)
    base, warm_seconds = _make_base(data, options)
    sources = data.sources if options.source_token else None
    train_seconds = 0.0
    samples_total = 0
    scored: list[tuple[str, Scored]] = []
    fitted_users = 0
    fits: list[TrainResult] = []
    readers = dev_readers(data, options)
    catalog = Catalog(data.ids, data.titles, sources)
    readers_seconds = 0.0

    def samples_of(behaviors: Iterable[Behavior]) -> list[Sample]:
        return behavior_samples(
            behaviors,
            data.ids,
            negatives=options.negatives,
            max_history=options.max_history,
            rng=rng,
        )

    def sessions_of(behaviors: Iterable[Behavior]) -> list[Sample]:
        return behavior_samples(
            behaviors, data.ids, negatives=None, max_history=options.max_history, rng=rng
        )

    extra: dict[str, Any] = {}
    if options.protocol == "general":
        samples = samples_of(data.train.behaviors)
        samples_total = len(samples)
        sessions = sessions_of(data.train.behaviors)
        if options.resume is not None:
            from nrms_core.checkpoint import CheckpointError
            from nrms_core.mind.resume import train_resumable  # imports torch

            try:
                base, figures = train_resumable(
                    base,
                    samples,
                    data.titles,
                    sources,
                    sessions,
                    path=options.resume,
                    epochs=options.epochs or 1,
                    seed=options.seed,
                    lr=options.lr,
                )
            except CheckpointError as exc:
                raise EvalError(f"cannot resume: {exc}") from None
            train_seconds = float(figures["seconds"])
            extra.update(resume=figures, samples_per_second=figures["samples_per_second"])
        else:
            result = base.fine_tune(
                samples,
                data.titles,
                sources,
                epochs=options.epochs,
                lr=options.lr,
                sessions=sessions,
                seed=options.seed,
            )
            train_seconds = float(result.seconds)
            fits.append(result)
            # samples x epochs the holdout kept, over the training time (refit epochs included)
            extra["samples_per_second"] = (
                samples_total * result.epochs_run / max(result.seconds, 1e-9)
            )
        fitted_users = len({b.user_id for b in data.train.behaviors})
        dev = [b for b in data.dev.behaviors if b.user_id in readers]  # in file order
        scored = list(score_behaviors(base, catalog, dev))
    else:
        train_by_user = _by_user(data.train.behaviors)
        tasks = []
        for user, dev_behaviors in readers.items():  # samples drawn in the readers' order
            train = train_by_user.get(user, ())
            samples = samples_of(train)
            tasks.append(Task(user, samples, sessions_of(train) if samples else [], dev_behaviors))
        with tempfile.TemporaryDirectory(prefix="heedful-eval-") as tmp:
            base_path = Path(tmp) / "base.ckpt"
            base.save(base_path)
            del base
            started = time.perf_counter()
            bar = Progress(len(tasks), label="readers") if options.progress else None
            try:
                outcomes = run_readers(
                    tasks,
                    catalog,
                    base=base_path,
                    device=None if options.device == "auto" else options.device,
                    epochs=options.epochs,
                    lr=options.lr,
                    seed=options.seed,
                    jobs=options.jobs,
                    on_done=None if bar is None else lambda _: bar.advance(),
                )
            finally:
                if bar is not None:
                    bar.close()
            readers_seconds = time.perf_counter() - started
        for outcome in outcomes:
            if outcome.fit is not None:
                train_seconds += float(outcome.fit.seconds)
                fits.append(outcome.fit)
                samples_total += outcome.samples
                fitted_users += 1
            scored.extend(outcome.scored)
    summary = _summary(scored)
    summary.update(extra)
    if options.protocol == "personal":
        summary.update(
            jobs=options.jobs,
            readers_seconds=round(readers_seconds, 3),
            seconds_per_reader=round(readers_seconds / max(1, len(readers)), 3),
        )
    summary.update(
        train_seconds=round(train_seconds, 3),
        warm_start_seconds=round(warm_seconds, 3),
        train_samples=samples_total,
        fitted_users=fitted_users,
        fit=_fit_summary(fits),
    )
    return summary


# -- baselines --------------------------------------------------------------------------


def _baselines(options: Options) -> list[Baseline]:
    return [Recency(), TfidfCentroid(), TfidfLogistic(), ClickBias(options.config)]


def evaluate_baselines(data: EvalData, options: Options) -> dict[str, dict[str, Any]]:
    """Fit each baseline per dev user on that user's train impressions; metrics per baseline."""
    docs: dict[str, Doc] = {}

    def doc(news_id: str) -> Doc:
        if news_id not in docs:
            item = data.news_item(news_id)
            docs[news_id] = document(item.title, item.category if options.category_token else "")
        return docs[news_id]

    def times(behavior: Behavior) -> list[float]:
        if options.recency == "order":
            return [-float(i) for i in range(len(behavior.impressions))]
        return [data.first_seen.get(n, 0.0) for n, _ in behavior.impressions]

    train_by_user = _by_user(data.train.behaviors)
    scored: dict[str, list[tuple[str, Scored]]] = {}
    for user, dev_behaviors in dev_readers(data, options).items():
        train = [
            ([doc(n) for n, _ in b.impressions], [y for _, y in b.impressions])
            for b in train_by_user.get(user, ())
        ]
        for ranker in _baselines(options):
            ranker.fit(train)
            out = scored.setdefault(ranker.name, [])
            for b in dev_behaviors:
                history = [doc(n) for n in b.history[-options.max_history :]]
                cands = [doc(n) for n, _ in b.impressions]
                s = ranker.score(history, cands, times(b))
                out.append((user, (labels(b), np.asarray(s, dtype=np.float64))))
    return {name: _summary(items) for name, items in scored.items()}
