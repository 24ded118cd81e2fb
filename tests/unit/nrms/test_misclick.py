"""A misclick must not move a feed past what a handful of consistent opens would."""

from __future__ import annotations

import random

import numpy as np

from nrms_core.bias import Group, fit_bias
from nrms_core.config import NRMSConfig
from nrms_core.sampling import Click, Exposure, build_groups

FEEDS = 10
FAVOURED = (0, 1, 2)
MISCLICKED = 7


def _reader(misclicks: int, seed: int = 0) -> tuple[list[Click], list[Exposure], dict[int, int]]:
    """Ten screens of Latest, 30 rows each from 10 feeds; the reader opens 3 rows of the
    favoured feeds per screen (30 opens) and ``misclicks`` rows of one other feed."""
    rng = random.Random(seed)
    feed_of: dict[int, int] = {}
    clicks: list[Click] = []
    shown: list[Exposure] = []
    article = 0
    t = 0.0
    for screen in range(10):
        key = f"latest-{screen}"
        rows: list[int] = []
        for _ in range(30):
            feed_of[article] = rng.randrange(FEEDS)
            rows.append(article)
            article += 1
        shown += [Exposure(a, t + i, key, i) for i, a in enumerate(rows)]
        liked = [i for i, a in enumerate(rows) if feed_of[a] in FAVOURED][:3]
        if screen < misclicks:
            wrong = [i for i, a in enumerate(rows) if feed_of[a] == MISCLICKED][:1]
            liked += wrong
        for i in sorted(liked):
            visible = tuple(rows[max(0, i - 5) : i + 6])
            clicks.append(Click(rows[i], t + 30 + i, key, i, visible))
        t += 100.0
    return clicks, shown, feed_of


def _feed_biases(misclicks: int) -> np.ndarray:
    clicks, shown, feed_of = _reader(misclicks)
    groups = build_groups(clicks, shown, screens=True)
    fit = fit_bias(
        [
            Group(np.zeros(len(g.candidates)), np.array([feed_of[a] for a in g.candidates]))
            for g in groups
        ],
        FEEDS,
        **NRMSConfig().bias_penalties(),
    )
    return fit.bias


def test_one_misclick_among_thirty_moves_no_feed_into_the_top_ten() -> None:
    bias = _feed_biases(misclicks=1)
    favoured = bias[list(FAVOURED)]
    assert (favoured > 0).all()
    assert bias[MISCLICKED] < favoured.min()
    # A river of 5 unread articles per feed, ranked by the feed's bias: the top 10 holds
    # only favoured feeds' articles.
    river = sorted(((float(bias[f]), f) for f in range(FEEDS) for _ in range(5)), reverse=True)
    assert {f for _, f in river[:10]} <= set(FAVOURED)


def test_consistent_opens_do_move_a_feed() -> None:
    once = _feed_biases(misclicks=1)[MISCLICKED]
    often = _feed_biases(misclicks=10)[MISCLICKED]
    assert often > once + 0.3  # ten opens say more than one
