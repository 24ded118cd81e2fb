"""Per-reader baselines: tokens, recency, TF-IDF centroid and logistic regression."""

from __future__ import annotations

import numpy as np
import pytest

from nrms_core.baseline import (
    ClickBias,
    Recency,
    TfidfCentroid,
    TfidfLogistic,
    _Csr,
    _newton,
    _Tfidf,
    document,
    stopwords,
)
from nrms_core.metrics import auc

SPORT = ["cup", "final", "goal", "striker", "league", "coach"]
MONEY = ["rates", "bank", "stocks", "bond", "inflation", "profit"]
FILLER = ["report", "week", "city", "plan", "talks", "day"]


def _impressions(rng: np.random.Generator, n: int) -> list[tuple[list[tuple[str, ...]], list[int]]]:
    """Impressions of 10 titles; titles with a sport word are clicked."""
    out = []
    for _ in range(n):
        docs, labels = [], []
        for j in range(10):
            topic = SPORT if j < 3 else MONEY
            words = [str(rng.choice(topic)), str(rng.choice(FILLER)), str(rng.choice(FILLER))]
            docs.append(tuple(words))
            labels.append(int(j < 3))
        out.append((docs, labels))
    return out


def test_stopwords_list_is_shipped() -> None:
    words = stopwords()
    assert 120 <= len(words) <= 250
    assert {"the", "and", "of"} <= words
    assert "#" not in "".join(words)


def test_document_tokens() -> None:
    assert document("The Bank of England raises rates") == ("bank", "england", "raises", "rates")
    assert document("Cup final", "Sports") == ("cup", "final", "category=sports")
    assert document("") == ()


def test_recency_uses_times_else_ties() -> None:
    docs = [("a",), ("b",), ("c",)]
    r = Recency()
    r.fit([])
    assert list(r.score([], docs, [3.0, 1.0, 2.0])) == [3.0, 1.0, 2.0]
    flat = r.score([], docs)
    assert auc([1, 0, 0], flat) == 0.5
    with pytest.raises(ValueError, match="one time"):
        r.score([], docs, [1.0])


def test_tfidf_rows_are_unit_length_and_idf_favours_rare_words() -> None:
    tfidf = _Tfidf([("a", "b"), ("a", "c"), ("a",)])
    rows = tfidf.dense([("a", "b"), ("zzz",)])
    assert np.linalg.norm(rows[0]) == pytest.approx(1.0)
    assert np.all(rows[1] == 0)  # unknown tokens are ignored
    assert rows[0][tfidf.index["b"]] > rows[0][tfidf.index["a"]]


def test_centroid_prefers_history_words() -> None:
    rng = np.random.default_rng(0)
    model = TfidfCentroid()
    model.fit(_impressions(rng, 5))
    cands = [("bank", "stocks"), ("cup", "striker")]
    assert model.score([("cup", "goal")], cands)[1] > model.score([("cup", "goal")], cands)[0]
    # without a history, the fitted clicks (sport) are the profile
    scores = model.score([], cands)
    assert scores[1] > scores[0]
    assert list(TfidfCentroid().score([], cands)) == [0.0, 0.0]


def test_logistic_learns_the_clicked_topic() -> None:
    rng = np.random.default_rng(1)
    model = TfidfLogistic()
    model.fit(_impressions(rng, 40))
    assert model.c in model.grid
    held = _impressions(rng, 10)
    values = [auc(y, model.score([], docs)) for docs, y in held]
    assert np.mean(values) > 0.95


def test_click_bias_learns_the_clicked_words_and_feeds() -> None:
    rng = np.random.default_rng(3)
    model = ClickBias()
    model.fit(_impressions(rng, 40))
    held = _impressions(rng, 10)
    assert np.mean([auc(y, model.score([], docs)) for docs, y in held]) > 0.95
    assert model.score([], [("cup",), ("bank",)]).tolist()[0] > 0.0
    # the category token is a feed with a bias of its own, not one of the words
    feeds = [
        ([("a", "category=sport"), ("b", "category=money"), ("c", "category=money")], [1, 0, 0])
        for _ in range(20)
    ]
    model.fit(feeds)
    sport, money = model.score([], [("z", "category=sport"), ("z", "category=money")])
    assert sport > money
    assert list(ClickBias().score([], [("a",)])) == [0.0]


def test_logistic_without_clicks_scores_flat() -> None:
    model = TfidfLogistic()
    model.fit([([("a",), ("b",)], [0, 0])])
    assert list(model.score([], [("a",), ("b",)])) == [0.0, 0.0]
    assert model.score([], []).shape == (0,)


def test_newton_reaches_the_optimum() -> None:
    rng = np.random.default_rng(2)
    dense = rng.normal(size=(60, 8)) * (rng.random((60, 8)) < 0.4)
    rows, cols = np.nonzero(dense)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=60))]).astype(np.int64)
    x = _Csr(indptr, cols.astype(np.int64), dense[rows, cols], 8)
    assert np.allclose(x.dot(np.arange(8.0)), dense @ np.arange(8.0))
    assert np.allclose(x.tdot(np.arange(60.0)), dense.T @ np.arange(60.0))
    y = np.where(dense @ rng.normal(size=8) + rng.normal(size=60) > 0, 1.0, -1.0)
    cw = np.full(60, 2.0)
    w, b = _newton(x, y, cw)
    margin = y * (dense @ w + b)
    coef = cw * (1.0 / (1.0 + np.exp(margin)) * -1.0) * y
    grad_w = w + dense.T @ coef
    assert np.linalg.norm(grad_w) < 1e-3  # started near 10
    sub = x.take(np.array([3, 7], dtype=np.int64))
    assert np.allclose(sub.dot(np.ones(8)), dense[[3, 7]].sum(axis=1))
