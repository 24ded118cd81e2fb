"""The lexical bias split over a title's words: Shapley parts that sum to it exactly and
follow what erasing a word does to the score."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from nrms_core.click import word_parts, word_weight


def lexical(values: list[float]) -> float:
    return word_weight(len(values)) * math.fsum(values)


def shapley(values: list[float]) -> list[float]:
    """By the definition: every order of the words, each word's marginal part, averaged."""
    n = len(values)
    out = [0.0] * n
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        seen: list[float] = []
        for j in order:
            before = lexical(seen)
            seen.append(values[j])
            out[j] += lexical(seen) - before
    return [v / len(orders) for v in out]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_the_closed_form_is_the_shapley_value(n: int) -> None:
    rng = random.Random(n)
    values = [rng.choice([0.0, rng.uniform(-2.0, 3.0)]) for _ in range(n)]
    assert word_parts(values) == pytest.approx(shapley(values), abs=1e-12)
    assert math.fsum(word_parts(values)) == pytest.approx(lexical(values), abs=1e-12)


def test_a_word_without_a_bias_dilutes_and_erasing_it_moves_the_score_its_way() -> None:
    values = [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # a keyword among seven plain words
    parts = word_parts(values)
    assert parts[0] > values[0] * word_weight(8) and all(p < 0.0 for p in parts[1:])
    erased = lexical(values) - lexical(values[:-1])  # the score's change without a plain word
    assert erased < 0.0 and parts[-1] == pytest.approx(erased, rel=0.2)


def test_no_words_and_one_word() -> None:
    assert word_parts([]) == [] and word_parts([1.5]) == [1.5]
