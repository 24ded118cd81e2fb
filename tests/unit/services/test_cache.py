"""The per-version article-vector cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.services.cache import VectorCache


def test_vectors_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vectors-1.npz"
    cache = VectorCache(path)
    first = np.arange(6, dtype=np.float32).reshape(2, 3)
    cache.add([10, 20], first)
    cache.add([30], np.full((1, 3), 7.0, np.float32))

    again = VectorCache.load(path)
    assert len(again) == 3 and 20 in again and 40 not in again
    rows = again.rows([30, 10])
    assert rows is not None
    assert rows.tolist() == [[7.0, 7.0, 7.0], [0.0, 1.0, 2.0]]
    assert again.missing([10, 40, 40, 50]) == [40, 50]


def test_unknown_ids_give_none_and_no_ids_give_an_empty_matrix(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "v.npz")
    cache.add([1], np.ones((1, 4), np.float32))
    assert cache.rows([1, 2]) is None
    empty = cache.rows([])
    assert empty is not None and empty.shape == (0, 4)


def test_an_unreadable_or_misshapen_file_means_re_encoding(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    assert len(VectorCache.load(garbage)) == 0
    misshapen = tmp_path / "misshapen.npz"
    np.savez(misshapen, ids=np.arange(3), vectors=np.zeros((2, 4), np.float32))
    assert len(VectorCache.load(misshapen)) == 0
    assert len(VectorCache.load(tmp_path / "absent.npz")) == 0


def test_vectors_are_kept_in_half_precision_and_scored_in_single(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 16)).astype(np.float32)
    user = rng.normal(size=16).astype(np.float32)
    cache = VectorCache(tmp_path / "v.npz")
    cache.add(list(range(50)), vectors)
    with np.load(tmp_path / "v.npz") as data:
        assert data["vectors"].dtype == np.float16
    ids = [7, 3, 42]
    scores = cache.scores(ids, user)
    assert scores is not None and scores.dtype == np.float32
    np.testing.assert_allclose(scores, vectors[ids] @ user, rtol=0, atol=0.02)
    exact = VectorCache.load(tmp_path / "v.npz").scores(list(range(50)), user)
    assert exact is not None
    assert np.argsort(-exact)[:10].tolist() == np.argsort(-(vectors @ user))[:10].tolist()
    assert cache.scores([1, 99], user) is None


def test_lexical_biases_travel_with_the_vectors(tmp_path: Path) -> None:
    path = tmp_path / "v.npz"
    cache = VectorCache(path)
    cache.add([1, 2], np.ones((2, 3), np.float32), np.array([0.5, -0.25]))
    cache.add([3], np.ones((1, 3), np.float32))  # no biases given: 0
    again = VectorCache.load(path)
    lexical = again.lexical([3, 1, 2])
    assert lexical is not None and lexical.tolist() == [0.0, 0.5, -0.25]
    assert again.lexical([1, 9]) is None
    with pytest.raises(ValueError, match="one vector and one lexical bias"):
        cache.add([4, 5], np.ones((2, 3), np.float32), np.zeros(1))


def test_a_file_from_before_lexical_biases_loads_with_none(tmp_path: Path) -> None:
    old = tmp_path / "old.npz"
    np.savez(old, ids=np.arange(2), vectors=np.ones((2, 4), np.float16))
    cache = VectorCache.load(old)
    assert len(cache) == 2
    lexical = cache.lexical([0, 1])
    assert lexical is not None and lexical.tolist() == [0.0, 0.0]
    bad = tmp_path / "bad.npz"
    np.savez(bad, ids=np.arange(2), vectors=np.ones((2, 4)), lexical=np.array([0.0, np.nan]))
    assert len(VectorCache.load(bad)) == 0
