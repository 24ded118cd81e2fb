"""The blend of model score, freshness and feed crowding that orders "For you"."""

from __future__ import annotations

import numpy as np

from app.services.ranking import blend


def test_model_score_orders_when_age_and_feed_are_equal() -> None:
    raw = np.array([0.1, 2.0, -1.0, 0.5], np.float32)
    out = blend(raw, ages_hours=np.zeros(4, np.float32), feeds=np.arange(4, dtype=np.int64))
    assert list(np.argsort(-out)) == [1, 3, 0, 2]


def test_fresher_article_wins_a_tie() -> None:
    raw = np.array([1.0, 1.0], np.float32)
    out = blend(raw, ages_hours=np.array([0.0, 72.0], np.float32), feeds=np.array([1, 2]))
    assert out[0] > out[1]


def test_a_high_volume_feed_does_not_fill_the_top() -> None:
    # feed 1 has ten articles a hair above feed 2's best; 40 other feeds fill the field
    rng = np.random.default_rng(0)
    raw = np.concatenate(
        [np.linspace(2.01, 2.0, 10), [1.95], rng.normal(0.0, 1.0, 40).clip(-3, 1.5)]
    ).astype(np.float32)
    feeds = np.array([1] * 10 + [2] + list(range(3, 43)), np.int64)
    out = blend(raw, ages_hours=np.zeros(len(raw), np.float32), feeds=feeds)
    order = list(np.argsort(-out))
    assert order[0] == 0
    assert order.index(10) <= 4  # without crowding it would be 11th


def test_crowding_keeps_the_order_within_a_feed() -> None:
    raw = np.array([3.0, 2.0, 1.0], np.float32)
    out = blend(raw, ages_hours=np.zeros(3, np.float32), feeds=np.array([7, 7, 7]))
    assert list(np.argsort(-out)) == [0, 1, 2]


def test_constant_scores_do_not_divide_by_zero() -> None:
    out = blend(np.ones(5, np.float32), ages_hours=np.zeros(5, np.float32), feeds=np.arange(5))
    assert np.all(np.isfinite(out))
