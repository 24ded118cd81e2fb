"""Encoding in length-bucketed batches: every title once, and the longest titles in batches
small enough that their self-attention weights stay within the bound."""

from __future__ import annotations

import random

import numpy as np
import torch

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


def test_same_length_batches_hold_no_padding() -> None:
    rng = random.Random(5)
    rows = [[rng.randint(1, 50) for _ in range(rng.randint(0, 30))] for _ in range(500)]
    seen: list[int] = []
    for chunk, tokens in length_batches(rows, range(len(rows)), 64, cells=6400, same_length=True):
        assert len(chunk) <= 64 and (len(chunk) == 1 or len(chunk) * tokens.shape[1] ** 2 <= 6400)
        assert len({len(rows[i]) for i in chunk}) == 1
        for row, i in enumerate(chunk):
            assert tokens[row, : len(rows[i])].tolist() == rows[i]
        assert tokens.shape[1] == max(1, len(rows[chunk[0]]))
        seen += chunk
    assert sorted(seen) == list(range(len(rows)))


def test_unpadded_batches_give_the_vectors_of_padded_ones() -> None:
    """An encode's batches hold titles of one length, which the encoder attends without a
    mask: the vectors are those of padded, masked batches (and of the explicit attention the
    trace and training use) to float rounding."""
    rng = random.Random(8)
    words = [f"w{n}" for n in range(300)]
    titles = [" ".join(rng.choices(words, k=rng.randint(1, 25))) for _ in range(400)]
    titles += ["", "!!!"]  # no token at all: a batch of PAD alone
    rec = Recommender.create(pretrained=False, seed=4)
    rec.add_titles(titles[:300])  # the rest hold words the vocabulary lacks (UNK)
    vectors = rec.encode(titles)
    ids = rec._token_ids(titles, None)
    model = rec.model
    padded = np.zeros_like(vectors)
    traced = np.zeros_like(vectors)
    with torch.inference_mode():
        for chunk, tokens in length_batches(ids, range(len(ids)), 64):
            batch = torch.from_numpy(tokens)
            padded[chunk] = model.encode_news(batch).numpy()
            traced[chunk] = model.news_encoder.trace(batch).vector.numpy()
    np.testing.assert_allclose(vectors, padded, rtol=0, atol=1e-6)
    np.testing.assert_allclose(vectors, traced, rtol=0, atol=1e-6)
