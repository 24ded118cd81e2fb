"""Training samples from one reader's log: each click is a positive with K skipped negatives.

Two ways to find a click's negatives:

- **By screen** (``screens=True``, what the app uses): ``session`` is the key of the screen
  (one visit of one view) the click came from, and every impression and click carries its
  row there. A click's negatives are the rows the reader passed over on that screen: those
  right above it first, then those on screen beside it. Never a row seen only on another
  screen or long before, and never an article the reader opened at any time. A click without
  a row (recorded before screens existed) is history only: it trains nothing by itself,
  because nothing says what was beside it.
- **By session** (the default, for simulated impressions where a session is one list the
  reader was shown): the session's skipped articles, topped up from other skipped
  impressions nearest in time.
"""

from __future__ import annotations

import bisect
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Click", "Exposure", "Sample", "Samples", "build_groups", "build_samples"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Click:
    """The reader opened ``article_id`` at ``time`` (seconds) in ``session``, from row
    ``position`` (None: unknown), with ``visible`` on screen at that moment."""

    article_id: int
    time: float
    session: str
    position: int | None = None
    visible: tuple[int, ...] = ()


@dataclass(frozen=True)
class Exposure:
    """One exposure of an article: ``article_id`` was shown to the reader at ``time`` in
    ``session``, at row ``position`` (None: unknown)."""

    article_id: int
    time: float
    session: str
    position: int | None = None


SCREEN_ABOVE = 3
"""By screen, negatives are drawn from the ``SCREEN_ABOVE × K`` rows nearest above a click."""


class _Screens:
    """Each screen's skipped rows by position, for finding what was passed over beside a click."""

    def __init__(self, impressions: Iterable[Exposure], never: set[int]) -> None:
        rows: dict[str, dict[int, int]] = {}
        for imp in impressions:
            if imp.article_id in never or imp.position is None:
                continue
            shown = rows.setdefault(imp.session, {})
            if imp.article_id not in shown or imp.position < shown[imp.article_id]:
                shown[imp.article_id] = imp.position
        self._rows = rows

    def passed_over(self, click: Click) -> tuple[list[int], list[int]]:
        """The click's screen's skipped rows above it (nearest first) and those on screen
        below it (nearest first)."""
        assert click.position is not None
        shown = self._rows.get(click.session, {})
        on_screen = set(click.visible)
        above = sorted(
            ((click.position - pos, a) for a, pos in shown.items() if pos < click.position),
        )
        below = sorted(
            (
                (pos - click.position, a)
                for a, pos in shown.items()
                if pos > click.position and a in on_screen
            ),
        )
        return (
            [a for _, a in above if a != click.article_id],
            [a for _, a in below if a != click.article_id],
        )


@dataclass(frozen=True)
class Sample:
    """Clicked history (oldest first) and candidates; ``candidates[0]`` is the positive."""

    history: tuple[int, ...]
    candidates: tuple[int, ...]


class Samples(list[Sample]):
    """The samples, in click order, plus ``skipped``: clicks that had no possible negative,
    and ``history_only``: clicks with no known screen row (by screen only)."""

    skipped: int = 0
    history_only: int = 0


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
    impressions: Iterable[Exposure],
    *,
    negatives: int = 4,
    max_history: int = 50,
    seed: int = 0,
    fallback_pool: Sequence[int] = (),
    screens: bool = False,
    never_negative: Iterable[int] = (),
    extra_negatives: Iterable[tuple[int, float]] = (),
) -> Samples:
    """Build one sample per click, in chronological order.

    By session (default): negatives are articles shown in the click's session and never
    clicked, topped up from other skipped impressions nearest in time, then from
    ``fallback_pool`` at random (never clicked articles only).

    By screen (``screens=True``): negatives are drawn at random from the
    :data:`SCREEN_ABOVE` × ``negatives`` skipped rows nearest above the click on its screen;
    when those are fewer than ``negatives``, the rows on screen below it fill up. No other
    screen and no fallback is used, and a click without a position is history only
    (counted in ``Samples.history_only``).

    ``never_negative`` are articles that are never a negative (besides every clicked one);
    ``extra_negatives`` are (article, time) pairs the reader marked as unwanted: each takes
    the place of one negative in the samples of the clicks nearest it in time (up to
    ``negatives`` of them). A click with fewer than ``negatives`` found negatives repeats
    the ones it has; a click with none is skipped and counted in ``Samples.skipped``. The
    history is the clicks strictly before it (without the clicked article itself), last
    ``max_history``. Deterministic for a given ``seed``.
    """
    if negatives < 1:
        raise ValueError("negatives must be >= 1")
    rng = random.Random(seed)
    ordered = sorted(clicks, key=lambda c: c.time)
    clicked = {c.article_id for c in ordered}
    never = clicked | set(never_negative)
    impressions = list(impressions)
    forced = _forced_negatives(ordered, extra_negatives, never, negatives)

    by_session: dict[str, list[int]] = {}
    seen_in_session: dict[str, set[int]] = {}
    skipped_shown: list[tuple[float, int]] = []
    layout = _Screens(impressions, never) if screens else None
    if layout is None:
        for imp in impressions:
            if imp.article_id in never:
                continue
            skipped_shown.append((imp.time, imp.article_id))
            members = seen_in_session.setdefault(imp.session, set())
            if imp.article_id not in members:
                members.add(imp.article_id)
                by_session.setdefault(imp.session, []).append(imp.article_id)
    skipped_shown.sort()
    times = [t for t, _ in skipped_shown]
    articles = [a for _, a in skipped_shown]
    pool = [a for a in dict.fromkeys(fallback_pool) if a not in never]

    out = Samples()
    for index, (click, history) in enumerate(_histories(ordered, max_history)):
        positive = click.article_id
        if layout is not None:
            if click.position is None:
                out.history_only += 1
                continue
            above, below = layout.passed_over(click)
            near = above[: SCREEN_ABOVE * negatives]
            chosen = rng.sample(near, min(len(near), negatives))
            if len(chosen) < negatives:
                chosen += below[: negatives - len(chosen)]
        else:
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
        unwanted = list(dict.fromkeys(forced.get(index, ())))[:negatives]
        if unwanted:  # the reader's own "less like this" goes first, displacing sampled ones
            chosen = unwanted + [a for a in chosen if a not in unwanted]
            chosen = chosen[:negatives]
        if not chosen:
            out.skipped += 1
            continue
        found = len(chosen)
        chosen += [chosen[i % found] for i in range(negatives - found)]
        out.append(Sample(history, (positive, *chosen[:negatives])))
    if out.skipped:
        logger.info("skipped %d clicks without any possible negative", out.skipped)
    return out


def _forced_negatives(
    ordered: Sequence[Click],
    extra: Iterable[tuple[int, float]],
    never: set[int],
    per: int,
) -> dict[int, list[int]]:
    """For each (article, time) marked unwanted, the indices of the ``per`` clicks nearest in
    time, each mapped to the unwanted articles it must carry as negatives."""
    out: dict[int, list[int]] = {}
    if not ordered:
        return out
    times = [c.time for c in ordered]
    for article, t in extra:
        if article in never:
            continue
        right = bisect.bisect_left(times, t)
        left = right - 1
        for _ in range(min(per, len(ordered))):
            take_left = right >= len(times) or (left >= 0 and t - times[left] <= times[right] - t)
            if take_left:
                out.setdefault(left, []).append(article)
                left -= 1
            else:
                out.setdefault(right, []).append(article)
                right += 1
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
    impressions: Iterable[Exposure],
    *,
    max_history: int = 50,
    max_skipped: int = 50,
    screens: bool = False,
    never_negative: Iterable[int] = (),
    extra_negatives: Iterable[tuple[int, float]] = (),
) -> Samples:
    """One group per click: the click, then what was skipped beside it, with the history
    :func:`build_samples` gives.

    These are the groups :meth:`nrms_core.recommender.Recommender.fit_bias` fits the feed
    and word biases on: no sampling and no top-up, so that how often each feed was shown
    beside a click is what the reader actually saw. By screen, a group is the rows skipped
    above the click on its screen (nearest first) and then those on screen below it, at most
    ``max_skipped``; a click without a position is left out (``Samples.history_only``). A
    group whose rows all come from one feed (a feed's own view) says nothing about the feed:
    the fit is one softmax per click, so a bias shared by every candidate cancels; its words
    still compete. By session, a group is the ``max_skipped`` articles shown in the click's
    session nearest in time to it. ``extra_negatives`` (unwanted articles, with times) join
    the groups of the clicks nearest them, as in :func:`build_samples`. A click with nothing
    skipped is left out and counted in ``Samples.skipped``.
    """
    if max_skipped < 1:
        raise ValueError("max_skipped must be >= 1")
    ordered = sorted(clicks, key=lambda c: c.time)
    clicked = {c.article_id for c in ordered}
    never = clicked | set(never_negative)
    impressions = list(impressions)
    forced = _forced_negatives(ordered, extra_negatives, never, 4)
    layout = _Screens(impressions, never) if screens else None
    shown: dict[str, tuple[list[float], list[int]]] = {}
    if layout is None:
        by_session: dict[str, list[tuple[float, int]]] = {}
        for imp in impressions:
            if imp.article_id not in never:
                by_session.setdefault(imp.session, []).append((imp.time, imp.article_id))
        shown = {
            session: ([t for t, _ in pairs], [a for _, a in pairs])
            for session, pairs in ((k, sorted(v)) for k, v in by_session.items())
        }
    out = Samples()
    for index, (click, history) in enumerate(_histories(ordered, max_history)):
        if layout is not None:
            if click.position is None:
                out.history_only += 1
                continue
            above, below = layout.passed_over(click)
            skipped = (above + below)[:max_skipped]
        else:
            times, articles = shown.get(click.session, ([], []))
            skipped = _nearest(times, articles, click.time, set(), max_skipped)
        skipped += [a for a in forced.get(index, ()) if a not in skipped]
        if skipped:
            out.append(Sample(history, (click.article_id, *skipped)))
        else:
            out.skipped += 1
    return out
