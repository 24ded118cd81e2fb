"""The guard: whether a training round may become the model in use, what "For you" ranks
with when no model earns its keep, the log of every round, and when the next round is due.

A round is judged on the reader's latest held-out clicks (the latest
:data:`app.services.tuning.HOLDOUT` share, never trained on before the holdout chose the
epoch), each click scored against what was skipped beside it, by the click score the ranking
uses. Beside it, on the same clicks: the model in use now (its weights as they are, its
biases fitted the same way), ClickBias (the feed and word biases alone) and the TF-IDF
logistic regression. The decision (:func:`judge`):

- fewer than :data:`MIN_HELD_OUT` held-out clicks or :data:`MIN_CANDIDATES` candidates is
  "too few held-out clicks" to mean anything, for or against the round. Nothing then says
  the model in use is better, so, as within the noise below, the round is published if it
  passes the in-sample check (its training loss is below that of a ranker at chance, ln of
  the candidates per click: it learned something and did not diverge): it has learned from
  the newest clicks, "For you" needs a first model, and the rounds that follow judge it
  properly. One that fails the check is rejected when no model is in use and leaves the
  model in use in place ("kept") otherwise. (Keeping every round with too few held-out
  clicks froze a first model trained on 10 clicks until the reader had opened about 34.)
  But an unjudged round has not shown that its network's score adds anything to the feed
  and word biases, so "For you" ranks by those alone (ClickBias: the biases at their priors,
  fitted on every article shown, with the round's weights kept for the rounds to come)
  until a round can be judged. In the
  session benchmark, over 83 such rounds (most of them a search-driven reader's, whose
  opens leave few clicks with a skipped row beside them), the biases alone ranked the next
  day better than the whole click score (AUC 0.911 against 0.889, nDCG@10 0.837 against
  0.776), while on 50 judged rounds the whole score did as well or better. Made so, For you
  rose from 0.831 to 0.896 AUC (nDCG@10 0.728 to 0.821) on 36 search-driven reader-days
  (four seeds) and held on the other patterns (docs/benchmarks/session.md).
- a figure not above 0.5 (chance) is rejected;
- a figure below the model in use's by more than the noise (:data:`NOISE_Z` standard errors
  of the difference, estimated by a paired bootstrap over the held-out clicks with a fixed
  seed, :func:`noise`) is rejected; within the noise or better, the round is published (it
  has learned from the newest clicks, and the noise says the old model is not known to be
  better);
- a published round whose figure is no higher than ClickBias's on the same clicks ranks by
  ClickBias (its weights kept for the rounds to come), and so does a model in use that
  stays after a rejection with no higher a figure than ClickBias's, when ClickBias beats
  chance (whether the model in use does or not): the network's score has not shown it adds
  anything to the biases, and what adds nothing only blurs their order.
  In earlier session-benchmark runs (483 judged, published rounds, several versions of
  this code), where ClickBias did as well on the held-out clicks the feed and word part of
  the score alone ranked the next day better than the whole score (AUC 0.923 against 0.916,
  nDCG@10 0.981 against 0.958, 263 reader-days); where the round did better, the whole
  score ranked better by AUC (0.928 against 0.918);
- after a rejection, "For you" keeps ranking with the model in use if it still beats chance
  on these clicks, or is not below chance by more than their noise (:func:`below_chance`: a
  handful of clicks at chance, inside one feed's view where the feed a reader prefers cannot
  show, is no evidence against a model that earned its place); else with ClickBias if that
  beats chance; else it shows Latest, and says so, but only when Latest's own order (newest
  first) beats the model in use on the same clicks by more than their noise. With no model
  in use, ClickBias is held to the same rule as a model in use: it ranks unless these
  clicks put it below chance by more than their noise, or Latest beats it on them by more
  than that. (A reader's first round judged on 5 held-out clicks came out at 0.45-0.65 in
  four runs of the session benchmark on the same clicks; at 0.45 and 0.50 it was rejected
  and For you showed Latest, 0.485 AUC the next morning against 0.80-0.83 where it was
  published.) A click's held-out group is the rows passed over on its screen, mostly the
  newer rows above it, so newest-first can be worse than chance there too, and giving up
  the model in use (its feed and word biases, which a single feed's view cannot judge) for
  an order that does no better on the evidence at hand would only lose what it knows. When
  For you shows Latest already and the model in use stays by these rules, it ranks again.
  When ClickBias ranks and stays, its feed and word biases are fitted again on every click
  (on the weights in use): they need no network to learn the newest clicks.

A rejected round's weights never become the model in use (the newest ``model_versions`` row
stays what ranks, or a ClickBias refit on its weights; with no model in use, ClickBias is
kept on the round's weights with their network's part off); every round, rejected or not, is
kept in a bounded log in the settings table.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.services.model import MIN_CLICKS, opened_articles
from app.storage import events
from app.storage.database import Database

log = logging.getLogger(__name__)

MIN_HELD_OUT = 5
"""Held-out clicks below which a held-out figure means nothing."""
MIN_CANDIDATES = 20
"""Held-out candidates (clicked and skipped, all held-out clicks together) below which a
held-out figure means nothing."""
NOISE_Z = 2.0
"""How many standard errors of the AUC difference count as the noise of a held-out set."""
BOOTSTRAP = 1000
"""Resamples of the paired bootstrap."""
SEED = 13
LOG_KEY = "training_rounds"
MODE_KEY = "ranking_mode"
KEEP_ROUNDS = 200
"""Rounds kept in the log (the oldest are dropped)."""

MODEL, CLICKBIAS, LATEST = "model", "clickbias", "latest"
MODES = (MODEL, CLICKBIAS, LATEST)
PUBLISHED, KEPT, REJECTED = "published", "kept", "rejected"
UNJUDGED = "; For you ranks by ClickBias until a round can be judged"
"""Added to the reason of a round published without a held-out figure (see :func:`judge`)."""
REFITTED = "; For you still ranks by ClickBias, fitted again on every click"
"""Added to the reason of a round rejected while ClickBias ranks (see :func:`judge`)."""
BIASES_AS_WELL = (
    "; For you ranks by ClickBias, which does as well as {what} on these clicks "
    "({bias:.2f} vs {figure:.2f})"
)
"""Added to the reason when the biases alone rank the held-out clicks at least as well as
the network's whole score would (see :func:`judge`)."""


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about a round.

    ``decision`` is :data:`PUBLISHED`, :data:`KEPT` or :data:`REJECTED`; ``reason`` the line
    the reader sees ("rejected: worse than the model in use (0.61 vs 0.74 ± 0.03)");
    ``publish`` whose weights become the model in use: ``"round"``, ``"clickbias"`` (those of
    the model in use, when no model earns its keep) or None (the model in use stays); ``mode``
    what "For you" ranks with afterwards: with :data:`CLICKBIAS` the published model's score
    is its feed and word biases alone.
    """

    decision: str
    reason: str
    publish: str | None
    mode: str
    figure: float | None
    current: float | None
    clickbias: float | None
    baseline: float | None
    margin: float | None
    held_out: int
    candidates: int
    too_few: bool
    latest: float | None = None
    """Latest's held-out figure (newest first, on the same clicks), when it was measured."""


def _mean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def noise(new: Sequence[float], current: Sequence[float]) -> float:
    """Standard error of mean(new) − mean(current), the held-out AUCs of two models.

    Paired (same clicks, same order): the standard deviation of the mean difference over
    :data:`BOOTSTRAP` resamples of the clicks with replacement, with a fixed seed so that a
    round's decision is reproducible. Unpaired (different lengths): sqrt(var/n + var/n).
    """
    a = np.asarray(new, np.float64)
    b = np.asarray(current, np.float64)
    if len(a) == len(b) and len(a) > 1:
        diff = a - b
        rng = np.random.default_rng(SEED)
        picks = rng.integers(0, len(diff), size=(BOOTSTRAP, len(diff)))
        return float(diff[picks].mean(axis=1).std(ddof=1))
    if len(a) > 1 and len(b) > 1:
        return float(math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return 0.0


def _latest_beats(
    recent: float | None, figure: float, latest: Sequence[float], other: Sequence[float]
) -> bool:
    """Whether Latest's held-out figure ``recent`` (per click: ``latest``) beats another
    order's ``figure`` (per click: ``other``, on the same clicks) by more than :data:`NOISE_Z`
    standard errors of their paired difference, over the clicks both have a figure for."""
    if recent is None:
        return False
    pairs = [(a, b) for a, b in zip(latest, other, strict=False) if math.isfinite(a + b)]
    return recent > figure + NOISE_Z * noise([a for a, _ in pairs], [b for _, b in pairs])


def judge(
    new: Sequence[float],
    *,
    candidates: int,
    current: Sequence[float] | None,
    clickbias: Sequence[float] = (),
    latest: Sequence[float] = (),
    baseline: float | None = None,
    current_mode: str = MODEL,
    in_sample: bool = True,
) -> Verdict:
    """Decide about a round from per-click held-out AUCs (see the module docstring).

    ``new``: the round's, ``current``: the model in use's on the same clicks (None: no model
    in use), ``clickbias``: the biases alone, ``latest``: Latest's order (newest first; empty:
    not measured, and Latest is then taken to beat a model shown below chance);
    ``candidates``: how many articles the held-out
    clicks were scored among; ``current_mode``: what "For you" ranks with now; ``in_sample``:
    whether the round passed the in-sample check (used only when too few clicks are held out
    and no model is in use).
    """
    figure, now, bias, recent = _mean(new), _mean(current or ()), _mean(clickbias), _mean(latest)
    held = len(new)
    too_few = held < MIN_HELD_OUT or candidates < MIN_CANDIDATES
    margin: float | None = None

    def verdict(decision: str, reason: str, publish: str | None, mode: str) -> Verdict:
        return Verdict(
            decision,
            reason,
            publish,
            mode,
            figure,
            now,
            bias,
            baseline,
            margin,
            held,
            candidates,
            too_few,
            recent,
        )

    few = f"too few held-out clicks to judge ({held} of {MIN_HELD_OUT} needed)"
    if too_few:
        if current is None:
            if not in_sample:
                reason = f"rejected: {few}, and it fits its own clicks no better than chance"
                return verdict(REJECTED, reason, None, LATEST)
            reason = f"published: {few}; no model was in use and it fits its clicks"
            return verdict(PUBLISHED, reason + UNJUDGED, "round", CLICKBIAS)
        if not in_sample:
            reason = f"kept: {few}, and it fits its own clicks no better than chance"
            return verdict(KEPT, reason, None, current_mode)
        reason = f"published: {few}; it learned from the newest clicks and fits them"
        return verdict(PUBLISHED, reason + UNJUDGED, "round", CLICKBIAS)
    assert figure is not None  # not too few, so there are held-out clicks
    if current is not None and now is not None:
        margin = NOISE_Z * noise(new, current)
    if figure <= 0.5:
        reason = f"rejected: not better than chance ({figure:.2f})"
    elif now is not None and margin is not None and figure < now - margin:
        reason = f"rejected: worse than the model in use ({figure:.2f} vs {now:.2f} ± {margin:.2f})"
    else:
        if now is None or margin is None:
            why = f"{figure:.2f} on {held} held-out clicks; no model was in use"
        elif figure > now + margin:
            why = f"better than the model in use ({figure:.2f} vs {now:.2f} ± {margin:.2f})"
        else:
            why = f"within the noise of the model in use ({figure:.2f} vs {now:.2f} ± {margin:.2f})"
        if bias is not None and figure <= bias:
            # its network's score adds nothing the biases alone do not rank as well
            as_well = BIASES_AS_WELL.format(what="the round", bias=bias, figure=figure)
            return verdict(PUBLISHED, f"published: {why}{as_well}", "round", CLICKBIAS)
        return verdict(PUBLISHED, f"published: {why}", "round", MODEL)
    # the model in use keeps (or, from Latest, takes back) For you
    stays = MODEL if current_mode == LATEST else current_mode
    # ClickBias in use stays ClickBias, its biases fitted again on every click: the round's
    # network did not earn its place, but the biases it would leave behind have not seen the
    # newest clicks (a day's opens, say) and need no network to learn them
    refit = CLICKBIAS if stays == CLICKBIAS else None
    if stays == MODEL and now is not None and bias is not None and now <= bias and bias > 0.5:
        # the model in use stays only while its network's score earns its place beside the
        # biases: at or below them on these clicks, the biases, fitted again on every click,
        # rank instead (at chance too: a model in use at 0.47 beside ClickBias at 0.56 gave
        # way to nothing, and its day-old biases went on ranking with its network's noise)
        as_well = BIASES_AS_WELL.format(what="the model in use", bias=bias, figure=now)
        return verdict(REJECTED, reason + as_well, CLICKBIAS, CLICKBIAS)
    if now is not None and now > 0.5:
        return verdict(REJECTED, reason + (REFITTED if refit else ""), refit, stays)
    if current is not None and now is not None and not below_chance(current):
        # a few held-out clicks at chance are no evidence against the model that earned its
        # place on earlier ones (inside one feed's view, say, the clicks cannot show the
        # feeds the reader prefers); it is given up only when shown to be worse than chance
        stay = REFITTED if refit else "; the model in use stays"
        return verdict(REJECTED, reason + stay, refit, stays)
    if bias is not None and bias > 0.5:
        return verdict(REJECTED, reason + "; For you ranks by ClickBias", CLICKBIAS, CLICKBIAS)
    if (
        current is None
        and bias is not None
        and not below_chance(clickbias)
        and not _latest_beats(recent, bias, latest, clickbias)
    ):
        # no model in use: a handful of held-out clicks at chance is no evidence against the
        # biases either (fitted on every article shown, not on these few clicks); newest
        # first takes For you only if it beats them on the same clicks by more than the noise
        why = f"; For you ranks by ClickBias, not below chance on these clicks ({bias:.2f})"
        return verdict(REJECTED, reason + why, CLICKBIAS, CLICKBIAS)
    if (
        current is not None
        and now is not None
        and recent is not None
        and not _latest_beats(recent, now, latest, current)
    ):
        # newest first would do no better on these clicks than the model in use
        why = f"; the model in use stays (Latest does no better: {recent:.2f} vs {now:.2f})"
        return verdict(REJECTED, reason + why, None, stays)
    return verdict(REJECTED, reason + "; For you shows Latest", None, LATEST)


def below_chance(aucs: Sequence[float]) -> bool:
    """Whether per-click held-out AUCs put a model below chance by more than their noise
    (:data:`NOISE_Z` standard errors of their mean, paired bootstrap against 0.5)."""
    finite = [v for v in aucs if math.isfinite(v)]
    if not finite:
        return False
    mean = float(np.mean(finite))
    return mean + NOISE_Z * noise(finite, [0.5] * len(finite)) < 0.5


NOTICES = {
    CLICKBIAS: (
        "No trained model has yet done better on your latest clicks than the feeds and words you "
        "open, so “For you” ranks by those (ClickBias)."
    ),
    LATEST: (
        "No model beats chance on your latest clicks yet, so “For you” shows Latest until one does."
    ),
}
"""The line shown above the river (and on the Model page) for each fallback mode."""


@dataclass(frozen=True)
class Round:
    """One training round as the log keeps it (published, kept or rejected)."""

    number: int
    time: str
    clicks: int
    last_click_id: int
    decision: str
    reason: str
    mode: str
    version: int | None = None
    """The model version in use after the round (the new one when published)."""
    figure: float | None = None
    current: float | None = None
    clickbias: float | None = None
    baseline: float | None = None
    margin: float | None = None
    held_out: int = 0
    candidates: int = 0
    loss: float | None = None
    too_few: bool = False
    latest: float | None = None
    """Latest's figure on the same held-out clicks (newest first), when measured."""
    published: bool = False
    """Whether the round wrote a new model version (``version``)."""

    @classmethod
    def parse(cls, raw: Any) -> Round | None:
        """A round from its stored form; None for anything unreadable."""
        if not isinstance(raw, dict):
            return None
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            values[key] = value
        try:
            round_ = cls(**values)
        except TypeError:
            return None
        ints = (round_.number, round_.clicks, round_.last_click_id, round_.held_out)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            return None
        if not all(isinstance(v, str) for v in (round_.time, round_.decision, round_.reason)):
            return None
        floats = (
            round_.figure,
            round_.current,
            round_.clickbias,
            round_.baseline,
            round_.loss,
            round_.latest,
        )
        if not all(v is None or isinstance(v, int | float) for v in floats):
            return None
        if round_.mode not in MODES:
            return None
        return round_


def rounds(db: Database) -> list[Round]:
    """Every logged round, oldest first (an unreadable log reads as empty)."""
    with db.read() as s:
        raw = events.get_setting(s, LOG_KEY)
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        log.warning("the training round log is unreadable; starting a new one")
        return []
    if not isinstance(data, list):
        return []
    return [r for r in (Round.parse(item) for item in data) if r is not None]


def record(db: Database, round_: Round) -> None:
    """Append a round to the log (keeping the last :data:`KEEP_ROUNDS`) and store the
    ranking mode it leaves."""
    kept = [asdict(r) for r in rounds(db)][-(KEEP_ROUNDS - 1) :]
    kept.append(asdict(round_))
    with db.write() as s:
        events.set_setting(s, LOG_KEY, json.dumps(kept))
        events.set_setting(s, MODE_KEY, round_.mode)


def next_number(db: Database) -> int:
    """The number of the next round (1 for the first)."""
    logged = rounds(db)
    return logged[-1].number + 1 if logged else 1


def mode(db: Database) -> str:
    """What "For you" ranks with now: :data:`MODEL` (the model in use), :data:`CLICKBIAS`
    (a model whose click score is the biases alone) or :data:`LATEST`."""
    with db.read() as s:
        value = events.get_setting(s, MODE_KEY)
    return value if value in MODES else MODEL


UNJUDGED_NOTICE = (
    "“For you” ranks by the feeds and words you open (ClickBias) until you have opened enough "
    "articles to check that the trained model does better."
)
"""The line above the river in ClickBias mode when the last round could not be judged."""


def notice(db: Database) -> str | None:
    """The line "For you" shows above the river when it does not rank with a trained model."""
    current = mode(db)
    if current == CLICKBIAS:
        logged = rounds(db)
        if logged and logged[-1].too_few and logged[-1].mode == CLICKBIAS:
            return UNJUDGED_NOTICE
    return NOTICES.get(current)


def _when(round_: Round) -> datetime:
    """When a logged round ran (long ago for an unreadable time)."""
    try:
        when = datetime.fromisoformat(round_.time)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def round_due(db: Database, min_new_clicks: int) -> bool:
    """Whether a training round should start: the reader has opened enough distinct articles
    for "For you" and either no round has run yet (the first round starts as soon as the
    threshold is reached) or ``min_new_clicks`` clicks (explicit "more / less like this"
    feedback counts as one) came since the last round (rejected and kept rounds count: they
    saw those clicks)."""
    if opened_articles(db) < MIN_CLICKS:
        return False
    logged = rounds(db)
    with db.read() as s:
        if logged:
            new = events.clicks_since(s, logged[-1].last_click_id)
            new += sum(f.time > _when(logged[-1]) for f in events.feedback(s))
        else:
            versions = events.list_model_versions(s)
            if not versions:
                return True
            new = events.clicks_since(s, 0) - versions[-1].clicks_used  # rounds before the log
    return new >= max(1, min_new_clicks)
