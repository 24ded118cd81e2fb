"""Metrics against hand-computed impressions and MIND's reference formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nrms_core.metrics import auc, evaluate_impressions, impression_metrics, mrr, ndcg


def test_hand_computed_impression() -> None:
    labels = [1, 0, 0, 1, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    m = impression_metrics(labels, scores)
    # clicked 0.9 beats 3 skipped, clicked 0.6 beats 1 of 3: (3 + 1) / (2 * 3)
    assert m["auc"] == pytest.approx(4 / 6)
    # clicks at ranks 1 and 4: (1/1 + 1/4) / 2
    assert m["mrr"] == pytest.approx(0.625)
    # DCG = 1/log2(2) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3)
    expected = (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m["ndcg5"] == pytest.approx(expected)
    assert m["ndcg10"] == pytest.approx(expected)
    # the second click sits at rank 4, outside the top 3: DCG@3 = 1, ideal@3 = 1 + 1/log2(3)
    assert ndcg(labels, scores, 3) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_cutoff_excludes_late_click() -> None:
    labels = [0] * 6 + [1]
    scores = [7, 6, 5, 4, 3, 2, 1]
    # the only click is at rank 7: nDCG@5 = 0, nDCG@10 = (1/log2(8)) / 1 = 1/3
    assert ndcg(labels, scores, 5) == 0.0
    assert ndcg(labels, scores, 10) == pytest.approx(1 / 3)
    assert mrr(labels, scores) == pytest.approx(1 / 7)
    assert auc(labels, scores) == 0.0


def test_full_tie_is_expected_random_ranking() -> None:
    m = impression_metrics([1, 0], [0.5, 0.5])
    assert m["auc"] == 0.5
    # the click is at rank 1 or 2 with equal chance: (1 + 1/2) / 2
    assert m["mrr"] == pytest.approx(0.75)
    # (1/log2(2) + 1/log2(3)) / 2, ideal 1
    assert m["ndcg5"] == pytest.approx((1 + 1 / math.log2(3)) / 2)


def test_partial_tie_average_rank() -> None:
    labels = [0, 1, 0]
    scores = [0.3, 0.3, 0.9]
    # the click ties one skipped (1/2) and loses to the other (0): 0.5 / 2
    assert auc(labels, scores) == pytest.approx(0.25)
    # the click is at rank 2 or 3: (1/2 + 1/3) / 2
    assert mrr(labels, scores) == pytest.approx((1 / 2 + 1 / 3) / 2)
    # DCG = (1/log2(3) + 1/log2(4)) / 2, ideal 1
    assert ndcg(labels, scores, 10) == pytest.approx((1 / math.log2(3) + 0.5) / 2)


def test_ties_do_not_depend_on_input_order() -> None:
    a = impression_metrics([1, 0, 0, 0], [1.0, 1.0, 1.0, 0.0])
    b = impression_metrics([0, 0, 1, 0], [1.0, 1.0, 1.0, 0.0])
    assert a == pytest.approx(b)


def test_single_class_impression() -> None:
    m = impression_metrics([1, 1], [0.2, 0.1])
    assert math.isnan(m["auc"])
    # (1/1 + 1/2) / 2
    assert m["mrr"] == pytest.approx(0.75)
    assert m["ndcg10"] == pytest.approx(1.0)


def test_all_zero_labels_undefined() -> None:
    m = impression_metrics([0, 0, 0], [0.3, 0.2, 0.1])
    assert all(math.isnan(v) for v in m.values())


def test_average_skips_undefined() -> None:
    result = evaluate_impressions(
        [
            ([1, 0], [0.9, 0.1]),  # auc 1, mrr 1
            ([0, 1], [0.9, 0.1]),  # auc 0, mrr 1/2
            ([1, 1], [0.9, 0.1]),  # auc undefined, mrr (1 + 1/2) / 2
            ([0, 0], [0.9, 0.1]),  # all undefined
        ]
    )
    assert result["impressions"] == 4
    assert result["auc_impressions"] == 2
    assert result["auc"] == pytest.approx(0.5)
    assert result["mrr"] == pytest.approx((1 + 0.5 + 0.75) / 3)


def test_empty_average_is_nan() -> None:
    result = evaluate_impressions([])
    assert result["impressions"] == 0
    assert math.isnan(result["auc"])


def test_bad_input_rejected() -> None:
    with pytest.raises(ValueError, match="length"):
        auc([1, 0], [0.5])
    with pytest.raises(ValueError, match="finite"):
        mrr([1, 0], [float("nan"), 0.1])
    with pytest.raises(ValueError, match="k must"):
        ndcg([1, 0], [0.5, 0.1], 0)


def _mind_mrr(y: np.ndarray, s: np.ndarray) -> float:
    order = np.argsort(s)[::-1]
    y = np.take(y, order)
    return float(np.sum(y / (np.arange(len(y)) + 1)) / np.sum(y))


def _mind_dcg(y: np.ndarray, s: np.ndarray, k: int) -> float:
    order = np.argsort(s)[::-1]
    y = np.take(y, order[:k])
    return float(np.sum((2**y - 1) / np.log2(np.arange(len(y)) + 2)))


def _pairwise_auc(y: np.ndarray, s: np.ndarray) -> float:
    pos = s[y == 1]
    neg = s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def test_matches_reference_formulas_on_random_impressions() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 30))
        y = rng.integers(0, 2, n).astype(float)
        if y.sum() == 0 or y.sum() == n:
            continue
        s = rng.normal(size=n)
        assert mrr(y, s) == pytest.approx(_mind_mrr(y, s))
        for k in (5, 10):
            expected = _mind_dcg(y, s, k) / _mind_dcg(y, y, k)
            assert ndcg(y, s, k) == pytest.approx(expected)
        rounded = np.round(s, 0)  # many ties
        assert auc(y, rounded) == pytest.approx(_pairwise_auc(y, rounded))
