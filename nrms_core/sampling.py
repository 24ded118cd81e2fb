"""Training samples from one reader's log: each click is a positive with K skipped negatives."""

from __future__ import annotations

import bisect
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Click", "Impression", "Sample", "Samples", "build_groups", "build_samples"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Click:
    """The reader opened ``article_id`` at ``time`` (seconds) in ``session``."""

    article_id: int
    time: float
    session: str


@dataclass(frozen=True)
class Impression:
    """``article_id`` was shown to the reader at ``time`` in ``session``."""

    article_id: int
    time: float
    session: str


@dataclass(frozen=True)
class Sample:
    """Clicked history (oldest first) and candidates; ``candidates[0]`` is the positive."""

    history: tuple[int, ...]
    candidates: tuple[int, ...]


class Samples(list[Sample]):
    """The samples, in click order, plus ``skipped``: clicks that had no possible negative."""

    skipped: int = 0


def _nearest(
    times: Sequence[float],
    articles: Sequence[int],
    t: float,
    exclude: set[int],
    want: int,
) -> list[int]:
    """Up to ``want`` distinct articles from the time-sorted impressions, nearest to ``t`` first."""
    out: list[int] = []
    seen = set(exclude)
    right = bisect.bisect_left(times, t)
    left = right - 1
    while len(out) < want and (left >= 0 or right < len(times)):
        take_left = right >= len(times) or (left >= 0 and t - times[left] <= times[right] - t)
        if take_left:
            article = articles[left]
            left -= 1
        else:
            article = articles[right]
            right += 1
        if article not in seen:
            seen.add(article)
            out.append(article)
    return out


def build_samples(
    clicks: Iterable[Click],
    impressions: Iterable[Impression],
    *,
    negatives: int = 4,
    max_history: int = 50,
    seed: int = 0,
    fallback_pool: Sequence[int] = (),
) -> Samples:
    """Build one sample per click, in chronological order.

    Negatives are articles shown in the click's session and never clicked,
    topped up from other skipped impressions nearest in time, then from
    ``fallback_pool`` at random (never clicked articles only). A click with
    fewer than ``negatives`` found negatives repeats the ones it has; a click
    with none is skipped and counted in ``Samples.skipped``. The history is
    the clicks strictly before it (without the clicked article itself), last
    ``max_history``. Deterministic for a given ``seed``.
    """
    if negatives < 1:
        raise ValueError("negatives must be >= 1")
    rng = random.Random(seed)
    ordered = sorted(clicks, key=lambda c: c.time)
    clicked = {c.article_id for c in ordered}
    by_session: dict[str, list[int]] = {}
    seen_in_session: dict[str, set[int]] = {}
    skipped_shown: list[tuple[float, int]] = []
    for imp in impressions:
        if imp.article_id in clicked:
            continue
        skipped_shown.append((imp.time, imp.article_id))
        members = seen_in_session.setdefault(imp.session, set())
        if imp.article_id not in members:
            members.add(imp.article_id)
            by_session.setdefault(imp.session, []).append(imp.article_id)
    skipped_shown.sort()
    times = [t for t, _ in skipped_shown]
    articles = [a for _, a in skipped_shown]
    pool = [a for a in dict.fromkeys(fallback_pool) if a not in clicked]

    out = Samples()
    for click, history in _histories(ordered, max_history):
        positive = click.article_id
        session = [a for a in by_session.get(click.session, ()) if a != positive]
        rng.shuffle(session)
        chosen = session[:negatives]
        if len(chosen) < negatives:
            want = negatives - len(chosen)
            chosen += _nearest(times, articles, click.time, {positive, *chosen}, want)
        if len(chosen) < negatives and pool:
            taken = set(chosen)
            extra = [a for a in pool if a not in taken and a != positive]
            chosen += rng.sample(extra, min(len(extra), negatives - len(chosen)))
        if not chosen:
            out.skipped += 1
            continue
        found = len(chosen)
        chosen += [chosen[i % found] for i in range(negatives - found)]
        out.append(Sample(history, (positive, *chosen[:negatives])))
    if out.skipped:
        logger.info("skipped %d clicks without any possible negative", out.skipped)
    return out


def _histories(
    ordered: Sequence[Click], max_history: int
) -> Iterator[tuple[Click, tuple[int, ...]]]:
    """Each click of the time-sorted ``ordered`` with its history: the clicks strictly
    before it (without the clicked article itself), last ``max_history``, oldest first."""
    click_times = [c.time for c in ordered]
    for index, click in enumerate(ordered):
        history: list[int] = []
        j = bisect.bisect_left(click_times, click.time, hi=index) - 1
        while j >= 0 and len(history) < max_history:
            if ordered[j].article_id != click.article_id:
                history.append(ordered[j].article_id)
            j -= 1
        yield click, tuple(reversed(history))


def build_groups(
    clicks: Iterable[Click],
    impressions: Iterable[Impression],
    *,
    max_history: int = 50,
    max_skipped: int = 50,
) -> Samples:
    """One group per click: the click, then the articles shown in its session and never
    clicked, the ``max_skipped`` shown nearest in time to it (nearest first), with the
    history :func:`build_samples` gives.

    These are the groups :meth:`nrms_core.recommender.Recommender.fit_bias` fits the feed
    bias on: no sampling and no top-up from other sessions, so that how often each feed
    was shown beside a click is what the reader actually saw. A desktop session lasts as
    long as the window, so the cap keeps a group to what was on screen around the click.
    A click whose session has nothing skipped is left out and counted in
    ``Samples.skipped``.
    """
    if max_skipped < 1:
        raise ValueError("max_skipped must be >= 1")
    ordered = sorted(clicks, key=lambda c: c.time)
    clicked = {c.article_id for c in ordered}
    by_session: dict[str, list[tuple[float, int]]] = {}
    for imp in impressions:
        if imp.article_id not in clicked:
            by_session.setdefault(imp.session, []).append((imp.time, imp.article_id))
    shown = {
        session: ([t for t, _ in pairs], [a for _, a in pairs])
        for session, pairs in ((k, sorted(v)) for k, v in by_session.items())
    }
    out = Samples()
    for click, history in _histories(ordered, max_history):
        times, articles = shown.get(click.session, ([], []))
        skipped = _nearest(times, articles, click.time, set(), max_skipped)
        if skipped:
            out.append(Sample(history, (click.article_id, *skipped)))
        else:
            out.skipped += 1
    return out
