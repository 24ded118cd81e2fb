"""What the session benchmark measures on one morning: For you's order on the new day's
articles against Latest and two per-reader baselines, where the favoured feeds' best articles
stand, how much of the top one feed takes, and what the training round decided.

Labels come from the reader's true interest (:meth:`bench.reader.Interest.likes`), never
from its clicks. The baselines are fitted on the reader's visits as the benchmark's hand saw
them (one impression per visit of a view: the rows that were on screen, the opened ones
positive), with the feed's title as an extra token, as bench/quality.py fits them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.hand import Visit
from bench.newsroom import Story
from nrms_core.baseline import ClickBias, Doc, TfidfLogistic, document
from nrms_core.metrics import auc, ndcg

RANKERS = ("For you", "Latest", "ClickBias", "TfidfLogistic")
TOP = 30
SHOWN_FAVOURITE = 3
"""Opens from a favoured feed, so far, after which the reader has shown the app that feed: the
favoured feeds below it (never visited, or passed over) no ranker can know from clicks."""


@dataclass(frozen=True)
class Shown:
    """An article as the benchmark knows it: its id, title, feed, time and story."""

    id: int
    title: str
    feed: str
    published: float
    story: Story | None


def impressions(
    visits: Sequence[Visit], known: Mapping[int, Shown]
) -> list[tuple[list[Doc], list[int]]]:
    """One (documents, labels) impression per visit that showed anything."""
    out: list[tuple[list[Doc], list[int]]] = []
    for visit in visits:
        ids = list(dict.fromkeys([*visit.seen, *visit.opened]))
        ids = [a for a in ids if a in known]
        if not ids:
            continue
        opened = set(visit.opened)
        out.append(([doc(known[a]) for a in ids], [int(a in opened) for a in ids]))
    return out


def doc(item: Shown) -> Doc:
    return document(item.title, item.feed)


def scores(
    order: Sequence[Shown],
    candidates: Sequence[Shown],
    visits: Sequence[Visit],
    known: Mapping[int, Shown],
    opened: Sequence[int],
) -> dict[str, list[float]]:
    """Each ranker's scores of ``candidates`` (higher first): For you by its position in
    ``order``, Latest by time, the baselines fitted on the visits so far."""
    position = {a.id: i for i, a in enumerate(order)}
    out = {
        "For you": [-float(position[c.id]) for c in candidates],
        "Latest": [c.published for c in candidates],
    }
    train = impressions(visits, known)
    history = [doc(known[a]) for a in opened if a in known]
    cands = [doc(c) for c in candidates]
    for ranker in (ClickBias(), TfidfLogistic()):
        if any(sum(labels) for _, labels in train):
            ranker.fit(train)
            out[ranker.name] = [float(x) for x in ranker.score(history, cands)]
        else:
            out[ranker.name] = [0.0] * len(cands)
    return out


def quality(labels: Sequence[int], by_ranker: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """AUC and nDCG@10 of each ranker over one set of candidates."""
    return {
        name: {"auc": auc(labels, s), "ndcg10": ndcg(labels, s, 10)}
        for name, s in by_ranker.items()
    }


def favoured_ranks(
    order: Sequence[Shown], favoured: Sequence[str], likes: Any
) -> dict[str, int | None]:
    """1-based rank in ``order`` of the best unread article of each favoured feed: its first
    liked article (else its first article); None when the feed has nothing unread."""
    ranks: dict[str, int | None] = {}
    for feed in favoured:
        rows = [i for i, a in enumerate(order) if a.feed == feed]
        liked = [i for i in rows if order[i].story is not None and likes(order[i].story)]
        best = liked or rows
        ranks[feed] = best[0] + 1 if best else None
    return ranks


def favoured_opens(
    opened: Sequence[int], known: Mapping[int, Shown], favoured: Sequence[str]
) -> dict[str, int]:
    """How many articles of each favoured feed the reader has opened so far."""
    counts = Counter(known[a].feed for a in opened if a in known)
    return {feed: counts[feed] for feed in favoured}


def baseline_order(
    order: Sequence[Shown],
    visits: Sequence[Visit],
    known: Mapping[int, Shown],
    opened: Sequence[int],
) -> list[Shown]:
    """The whole unread pool as the TF-IDF regression would order it (highest score first),
    so that the favoured feeds' ranks can be set beside For you's."""
    train = impressions(visits, known)
    if not any(sum(labels) for _, labels in train):
        return list(order)
    ranker = TfidfLogistic()
    ranker.fit(train)
    history = [doc(known[a]) for a in opened if a in known]
    values = ranker.score(history, [doc(a) for a in order])
    ranked = sorted(range(len(order)), key=lambda i: (-float(values[i]), i))
    return [order[i] for i in ranked]


def top_share(feeds: Sequence[str]) -> tuple[str | None, float]:
    """The most frequent feed among ``feeds`` and its share."""
    if not feeds:
        return None, math.nan
    feed, count = Counter(feeds).most_common(1)[0]
    return feed, count / len(feeds)


def guard(report: Any, versions: Sequence[Any]) -> dict[str, Any]:
    """What the guard decided about the day's round, as the app reports it: the training
    report's ``decision`` ("published", "kept", "rejected") and ``reason``, else a
    ``decision`` in the round's recorded metrics; "n/a" where the app records none."""
    if report is None or isinstance(report, str):
        return {"round": False, "decision": "no round", "message": report, "rejected": 0}
    fields = report.as_dict() if hasattr(report, "as_dict") else dict(vars(report))
    decision = fields.get("decision") or None
    if decision is None:
        for version in versions:
            if version.id == fields.get("version"):
                decision = version.metrics.get("decision")
    rejected: int | str = "n/a" if decision is None else int(str(decision) == "rejected")
    published = fields.get("published")
    if published is None:  # before the guard, every round that ran was published
        published = fields.get("version") is not None and not fields.get("cancelled", False)
    return {
        "round": not fields.get("cancelled", False),
        "decision": "n/a" if decision is None else str(decision),
        "reason": fields.get("reason") or "",
        "rejected": rejected,
        "published": bool(published),
        "ranking_mode": fields.get("ranking_mode"),
        "holdout_click_auc": fields.get("holdout_click_auc"),
        "too_few_held_out": bool(fields.get("too_few_held_out", False)),
        "current_auc": fields.get("current_auc"),
        "clickbias_auc": fields.get("clickbias_auc"),
        "baseline_auc": fields.get("baseline_auc"),
        "version": fields.get("version"),
        "seconds": fields.get("seconds"),
    }
