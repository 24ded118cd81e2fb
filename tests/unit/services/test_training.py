"""The word-count baseline that every training round is reported beside."""

from __future__ import annotations

import random

from app.services.training import baseline_auc
from nrms_core.sampling import Sample


def _reader(n: int, seed: int = 0) -> tuple[list[Sample], dict[int, str], dict[int, int]]:
    """A reader who always opens the one title about rockets among five."""
    rng = random.Random(seed)
    titles: dict[int, str] = {}
    feeds: dict[int, int] = {}
    samples: list[Sample] = []
    topics = ["rocket launch orbit", "bread recipe oven", "tax budget vote", "league match goal"]
    clicked: list[int] = []
    for i in range(n):
        base = i * 5
        titles[base] = f"{topics[0]} number {rng.randint(0, 999)}"
        feeds[base] = 1
        for k in range(1, 5):
            titles[base + k] = f"{topics[k % 4 or 1]} story {rng.randint(0, 999)}"
            feeds[base + k] = 2
        samples.append(Sample(tuple(clicked[-50:]), tuple(range(base, base + 5))))
        clicked.append(base)
    return samples, titles, feeds


def test_a_lexical_reader_is_easy_for_the_baseline() -> None:
    samples, titles, feeds = _reader(40)
    value = baseline_auc(samples, titles, feeds, holdout=0.2)
    assert value is not None and value > 0.9


def test_too_few_samples_give_no_figure() -> None:
    samples, titles, feeds = _reader(3)
    assert baseline_auc(samples, titles, feeds, holdout=0.2) is None
    assert baseline_auc(*_reader(20), holdout=0.0) is None
