"""Encoding in length-bucketed batches: every title once, and the longest titles in batches
small enough that their self-attention weights stay within the bound."""

from __future__ import annotations

import random

import numpy as np

from nrms_core.inference import length_batches
from nrms_core.recommender import Recommender


def test_batches_cover_every_title_once_within_both_bounds() -> None:
    rng = random.Random(3)
    rows = [[rng.randint(1, 50) for _ in range(rng.randint(0, 30))] for _ in range(500)]
    seen: list[int] = []
    for chunk, tokens in length_batches(rows, range(len(rows)), 64, cells=64 * 10 * 10):
        width = tokens.shape[1]
        assert len(chunk) <= 64 and (len(chunk) == 1 or len(chunk) * width**2 <= 6400)
        assert width == max(1, max(len(rows[i]) for i in chunk))
        for row, i in enumerate(chunk):
            assert tokens[row, : len(rows[i])].tolist() == rows[i]
            assert not tokens[row, len(rows[i]) :].any()  # PAD after the end
        seen += chunk
    assert sorted(seen) == list(range(len(rows)))


def test_a_bound_on_the_attention_gives_the_vectors_of_whole_batches() -> None:
    titles = [" ".join(["word"] * (1 + i % 25)) + f" story {i}" for i in range(60)]
    rec = Recommender.create(pretrained=False, seed=2)
    rec.add_titles(titles)
    bounded = rec.encode(titles, batch_size=1024, cells=8 * 10 * 10)  # many small batches
    whole = rec.encode(titles, batch_size=1024, cells=0)  # one batch
    np.testing.assert_allclose(bounded, whole, atol=1e-5)
