"""A training round: fine-tune the reader's model on their clicks (or warm-start a first one
from their own headlines), judge it on the reader's latest held-out clicks beside the model
in use, ClickBias and the TF-IDF baseline (:mod:`app.services.guard`), and only when the guard
publishes it save the checkpoint atomically, re-encode the unread articles and prune old
checkpoints and caches. Every round, published or not, is logged with its decision.

:meth:`app.services.ranking.Ranker.train` runs it; the ranker lends the model in use and takes
the new one back through two callables, so this module never imports the ranker.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.services import guard, heap, signal
from app.services.cache import VectorCache
from app.services.cache import prune as prune_caches
from app.services.model import (
    MIN_CLICKS,
    Loaded,
    RankingError,
    article_texts,
    cache_path,
    checkpoint_path,
    encode,
)
from app.services.profile import Profile
from app.services.training import (
    TrainProgress,
    TrainReport,
    baseline_auc,
    fraction,
    source_of,
)
from app.storage import articles, events
from app.storage.record import ModelVersionRecord

if TYPE_CHECKING:
    from nrms_core import PriorFit, Priors, Recommender, Sample

log = logging.getLogger(__name__)

WARM_START_TITLES = 5000
KEEP_CHECKPOINTS = 3
HOLDOUT = 0.15
"""Share of the latest clicks held out to stop training early and to report quality."""


def run_round(
    profile: Profile,
    *,
    current: Callable[[], Loaded | None],
    install: Callable[[Loaded], None],
    epochs: int | None = None,
    device: str | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainReport:
    """One training round: fine-tune from the last checkpoint (or a warm start from the
    reader's own headlines), write the new checkpoint atomically, re-encode the articles.

    ``current`` gives the model in use (None before the first round); ``install`` swaps the
    new one in once it is saved and recorded.
    """
    from nrms_core import Click, Exposure, Recommender, bounded, build_groups, build_samples

    started = datetime.now(UTC)
    report = progress or (lambda _p: None)
    db = profile.db
    with db.read() as s:
        titles = articles.article_titles(s)
        feeds_of = articles.article_feeds(s)
    told = signal.load(db, titles)
    clicks = told.clicks
    if told.distinct_opened < MIN_CLICKS:
        raise RankingError(
            f"training needs at least {MIN_CLICKS} opened articles; "
            f"there are {told.distinct_opened}"
        )
    opened = [Click(c.article_id, c.time, c.session, c.position, c.visible) for c in clicks]
    seen = [Exposure(i.article_id, i.time, i.session, i.position) for i in told.impressions]
    # Negatives and bias groups come from the screen each click was opened on: the rows
    # passed over right beside it, never rows seen only elsewhere (nrms_core.sampling).
    never, unwanted = told.never_negative, told.extra_negatives
    every_sample = build_samples(
        opened,
        seen,
        seed=len(clicks),
        screens=True,
        never_negative=never,
        extra_negatives=unwanted,
    )
    every_session = build_groups(  # each click beside all it was shown with on its screen
        opened, seen, screens=True, never_negative=never, extra_negatives=unwanted
    )
    del seen
    # A round resumes from the last one's weights, so it learns from the newest clicks and a
    # replay sample of the older ones, and is judged on the newest: its time and memory stay
    # the same however long the reader's log grows (issue 19; all of them while they fit).
    # With ``epochs`` None, fine_tune also caps samples x epochs, the refit and the
    # cross-fitting (nrms_core.budget), so that its time stops growing with its samples.
    samples = bounded(every_sample, seed=len(clicks))
    sessions = bounded(every_session, seed=len(clicks))
    if not samples:
        raise RankingError("no usable training samples: every click lacks skipped articles")
    loaded = current()
    warm = loaded is None
    stop = should_stop or (lambda: False)
    if loaded is None:
        report(TrainProgress("preparing the first model", 0.0))
        model = Recommender.create(device=device, seed=0, cache_dir=profile.paths.glove)
        recent = sorted(titles)[-WARM_START_TITLES:]
        model.add_titles(titles[a] for a in recent)
        model.warm_start(
            [titles[a] for a in recent],
            [source_of(feeds_of.get(a, 0)) for a in recent],
            should_stop=stop,
            progress=lambda p: report(
                TrainProgress("learning from your feeds", 0.3 * fraction(p), p.loss)
            ),
        )
    else:
        model = Recommender.load(
            checkpoint_path(profile, loaded.version), device=device, cache_dir=profile.paths.glove
        )
    used = {a for sample in (*samples, *sessions) for a in (*sample.history, *sample.candidates)}
    model.add_titles(titles[a] for a in used)
    texts = {a: titles[a] for a in used}
    sources = {a: source_of(feeds_of[a]) for a in used if a in feeds_of}

    def fit_priors(before: float | None, penalties_of: Priors | None = None) -> PriorFit:
        shown, opened_then = signal.exposures(told, before=before)  # shown before ``before``
        sources_then = {a: source_of(feeds_of[a]) for a in shown if a in feeds_of}
        prior = model.fit_priors(
            shown, opened_then, titles, sources_then, penalties_of=penalties_of
        )
        log.info("priors from %d shown articles, %d opened", prior.articles, prior.opened)
        return prior

    # The round is judged with priors that never saw its held-out clicks, and ranks with
    # priors over all of them (fine_tune refits them before its final bias fit) under the
    # penalties chosen for the judged ones, so that the guard's figure speaks for the order
    # the reader sees; unless the judged ones saw too little to choose (a first sitting,
    # all of it before the held-out screen's start), when the refit chooses on all of it.
    judged_fit = fit_priors(signal.holdout_start(told, HOLDOUT))
    judged = model.priors()
    keep = judged if judged_fit.informed else None
    result = model.fine_tune(
        samples,
        texts,
        sources,
        epochs=epochs,
        holdout=HOLDOUT,
        sessions=sessions,
        should_stop=stop,
        progress=lambda p: report(
            TrainProgress("learning from your clicks", 0.3 + 0.6 * fraction(p), p.loss)
        ),
        refit_priors=lambda: fit_priors(None, keep),
    )

    def pin(target: Recommender) -> None:  # the reader's own word on feeds and words wins
        target.pin_biases(
            feeds={source_of(f): bounds for f, bounds in told.pins.feeds.items()},
            words_off=told.pins.words_off,
        )

    if not result.cancelled:
        pin(model)
    seconds = (datetime.now(UTC) - started).total_seconds()
    if result.cancelled:
        return TrainReport(
            None,
            len(clicks),
            len(samples),
            result.epochs_run,
            result.train_loss,
            None,
            None,
            model.device,
            seconds,
            True,
            warm,
        )
    report(TrainProgress("comparing with the model in use and the baselines", 0.9))
    baseline = baseline_auc(samples, titles, feeds_of, holdout=HOLDOUT)
    in_use = (
        None
        if loaded is None
        else Recommender.load(
            checkpoint_path(profile, loaded.version), device=device, cache_dir=profile.paths.glove
        )
    )
    if in_use is not None:  # judged below on the same priors as the round
        in_use.use_priors(judged)
    held = model.held_out_samples(samples, texts, holdout=HOLDOUT)
    everything = model.priors()
    with model.priors_held(judged):
        bias_only = model.held_out_click_aucs(
            samples, sessions, texts, sources, holdout=HOLDOUT, bias_only=True
        )
    current_mode = guard.mode(db)
    now: list[float] | None = None
    if in_use is not None:
        uses_biases = in_use.scale == 0.0  # a ClickBias model: its score is the biases alone
        now = (
            bias_only
            if uses_biases
            else in_use.held_out_click_aucs(samples, sessions, texts, sources, holdout=HOLDOUT)
        )
    verdict = guard.judge(
        result.holdout_click_aucs,
        candidates=sum(len(h.candidates) for h in held),
        current=now,
        clickbias=bias_only,
        latest=_latest_aucs(profile, held),
        baseline=baseline,
        current_mode=current_mode,
        in_sample=_fits(result.train_loss, samples),
    )
    log.info("training round: %s", verdict.reason)
    chosen: Recommender | None = None
    if verdict.publish == "round":
        chosen = model
    elif verdict.publish == guard.CLICKBIAS:  # weights of the model in use, when there is one
        chosen = in_use if in_use is not None else model
    if chosen is not None and verdict.mode == guard.CLICKBIAS:  # ranks by its biases alone
        chosen.use_priors(everything)
        chosen.keep_bias_only()
        pin(chosen)
    del in_use
    version_id = None if loaded is None else loaded.version.id
    if chosen is not None:
        report(TrainProgress("saving the model", 0.92))
        extra = _verdict_metrics(verdict)
        version = _publish(profile, install, chosen, result, len(clicks), seconds, baseline, extra)
        version_id = version.id
    guard.record(
        db,
        guard.Round(
            number=guard.next_number(db),
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            clicks=len(clicks),
            last_click_id=_last_click_id(profile, started),
            decision=verdict.decision,
            reason=verdict.reason,
            mode=verdict.mode,
            version=version_id,
            figure=verdict.figure,
            current=verdict.current,
            clickbias=verdict.clickbias,
            baseline=baseline,
            margin=verdict.margin,
            held_out=verdict.held_out,
            candidates=verdict.candidates,
            loss=result.train_loss,
            too_few=verdict.too_few,
            published=chosen is not None,
            latest=verdict.latest,
        ),
    )
    report(TrainProgress("re-ranking", 1.0))
    return TrainReport(
        version_id,
        len(clicks),
        len(samples),
        result.epochs_run,
        result.train_loss,
        result.holdout_auc,
        result.holdout_ndcg10,
        model.device,
        (datetime.now(UTC) - started).total_seconds(),
        False,
        warm,
        holdout_click_auc=result.holdout_click_auc,
        decision=verdict.decision,
        reason=verdict.reason,
        published=chosen is not None,
        ranking_mode=verdict.mode,
        held_out=verdict.held_out,
        held_out_candidates=verdict.candidates,
        too_few_held_out=verdict.too_few,
        current_auc=verdict.current,
        clickbias_auc=verdict.clickbias,
        baseline_auc=baseline,
        noise=verdict.margin,
    )


def _verdict_metrics(verdict: guard.Verdict) -> dict[str, float | str | int | None]:
    """The guard's figures and decision, recorded with a published version."""
    return {
        "decision": verdict.reason,
        "ranking": verdict.mode,
        "in_use_auc": verdict.current,
        "clickbias_auc": verdict.clickbias,
        "latest_auc": verdict.latest,
        "noise": verdict.margin,
        "held_out": verdict.held_out,
        "held_out_candidates": verdict.candidates,
        "too_few_held_out": int(verdict.too_few),
    }


def _latest_aucs(profile: Profile, held: Sequence[Sample]) -> list[float]:
    """Latest's AUC on each held-out click (``held``, position 0 the click): its candidates
    ordered as Latest shows them, newest first and by id among equal times (an article gone
    from the profile counts half), so that the guard can tell whether falling back to Latest
    would do better on these clicks than the model in use."""
    with profile.db.read() as s:
        times = articles.article_times(s, [a for h in held for a in h.candidates])
    out: list[float] = []
    for h in held:  # one figure per click, in the order of the other models' figures
        click, skipped = h.candidates[0], h.candidates[1:]
        if click not in times or not skipped:
            out.append(0.5)
            continue
        mine = (times[click], click)
        wins = sum(0.5 if a not in times else float(mine > (times[a], a)) for a in skipped)
        out.append(wins / len(skipped))
    return out


def _fits(loss: float | None, samples: Sequence[Sample]) -> bool:
    """The in-sample check: the round's training loss is finite and below the loss of a ranker
    at chance (ln of the mean number of candidates per click)."""
    if loss is None or not math.isfinite(loss) or not samples:
        return False
    return loss < math.log(sum(len(s.candidates) for s in samples) / len(samples))


def _last_click_id(profile: Profile, started: datetime) -> int:
    """The newest click a round started at ``started`` could see (the next round counts new
    clicks from there)."""
    with profile.db.read() as s:
        ids = [c.id for c in events.click_history(s) if c.time <= started]
    return max(ids, default=0)


def _publish(
    profile: Profile,
    install: Callable[[Loaded], None],
    model: Recommender,
    result: Any,
    clicks: int,
    seconds: float,
    baseline: float | None,
    extra: dict[str, float | str | int | None] | None = None,
) -> ModelVersionRecord:
    """Save the checkpoint atomically, record the version, re-encode articles, swap it in.

    ``extra``: more metrics to record (the guard's figures and decision)."""
    models = profile.paths.models
    with profile.db.read() as s:
        previous = events.list_model_versions(s)
    number = (previous[-1].id + 1) if previous else 1
    path = models / f"model-{number:05d}.pt"
    metrics: dict[str, float | str | int | None] = {
        "loss": result.train_loss,
        "holdout_loss": result.holdout_loss,
        "holdout_auc": result.holdout_auc,
        "holdout_click_auc": result.holdout_click_auc,
        "holdout_ndcg10": result.holdout_ndcg10,
        "baseline_auc": baseline,
        "epochs": result.epochs_run,
        "samples": result.samples,
        "device": model.device,
        "seconds": round(seconds, 3),
        "clicks_used": clicks,
        **(extra or {}),
    }
    with profile.db.read() as s:
        unread = articles.unread_ids(s)
    texts = article_texts(profile.db, unread)
    unread = [a for a in unread if a in texts]
    vectors, lexical = encode(model, [texts[a] for a in unread])  # before it is visible
    del texts
    try:
        sha = model.save(path, meta={"clicks_used": clicks})
    except OSError as exc:
        raise RankingError(
            f"could not save the new model ({exc.strerror or exc}); the previous model stays in use"
        ) from exc
    with profile.db.write() as s:
        version = events.add_model_version(s, path.name, sha, datetime.now(UTC), clicks, metrics)
    loaded = Loaded(version, model, VectorCache(cache_path(profile, version.id)))
    loaded.cache.add(unread, vectors, lexical)
    del vectors, lexical
    heap.trim()
    install(loaded)
    _prune(profile, models, keep={path})
    return version


def _prune(profile: Profile, models: Path, keep: set[Path]) -> None:
    """Delete checkpoints and vector caches beyond the newest :data:`KEEP_CHECKPOINTS`."""
    for stale in models.glob(".*.tmp"):  # left by a round killed while saving
        stale.unlink(missing_ok=True)
    checkpoints = sorted(models.glob("model-*.pt"))
    for old in checkpoints[:-KEEP_CHECKPOINTS]:
        if old not in keep:
            old.unlink(missing_ok=True)
    prune_caches(profile.paths.cache, KEEP_CHECKPOINTS)  # by version number, not name
