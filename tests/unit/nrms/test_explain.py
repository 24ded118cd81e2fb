import numpy as np
import pytest
import torch

from nrms_core.config import NRMSConfig
from nrms_core.explain import spearman
from nrms_core.recommender import Recommender

TITLES = [
    "Oil prices climb as supply tightens",
    "Stocks rally on strong earnings",
    "Local team wins the cup final",
    "Central bank holds interest rates",
    "New phone launched with faster chip",
    "Storm closes schools across the region",
]


@pytest.fixture(scope="module")
def rec() -> Recommender:
    rec = Recommender.create(pretrained=False, seed=1)
    rec.add_titles(TITLES)
    with torch.no_grad():  # wider embeddings than the default, so shares differ visibly
        rec.model.embedding.weight.mul_(5.0)
    return rec


def test_shares_sum_to_the_score(rec: Recommender) -> None:
    e = rec.explain("Oil stocks rally as rates climb", TITLES[:5])
    assert [w.token for w in e.words] == ["oil", "stocks", "rally", "as", "rates", "climb"]
    assert [h.index for h in e.history] == [0, 1, 2, 3, 4]
    assert sum(w.share for w in e.words) == pytest.approx(e.score, abs=1e-4)
    assert sum(h.share for h in e.history) == pytest.approx(e.score, abs=1e-4)
    assert sum(w.attention for w in e.words) == pytest.approx(1.0, abs=1e-5)
    assert sum(h.attention for h in e.history) == pytest.approx(1.0, abs=1e-5)
    assert len({round(w.share, 6) for w in e.words}) > 1


def test_score_matches_the_ranking_path(rec: Recommender) -> None:
    e = rec.explain(TITLES[5], TITLES[:4])
    vectors = rec.encode(TITLES)
    user = rec.user_vector(vectors[:4])
    assert e.score == pytest.approx(float(rec.score(user, vectors[5:6])[0]), abs=1e-4)


def test_leave_one_out_deltas_are_real_rescoring(rec: Recommender) -> None:
    history = TITLES[:4]
    candidate = "Oil stocks rally as rates climb"
    e = rec.explain(candidate, history)
    vectors = rec.encode(history)
    user = rec.user_vector(vectors)
    erased = "stocks rally as rates climb"  # without "oil"
    expected = e.score - float(rec.score(user, rec.encode([erased]))[0])
    assert e.words[0].loo == pytest.approx(expected, abs=1e-4)
    dropped = rec.user_vector(vectors[[0, 2, 3]])
    cand = rec.encode([candidate])
    assert e.history[1].loo == pytest.approx(e.score - float(rec.score(dropped, cand)[0]), abs=1e-4)
    assert e.faithfulness_words is not None and -1.0 <= e.faithfulness_words <= 1.0
    assert e.faithfulness_history is not None and -1.0 <= e.faithfulness_history <= 1.0


def test_empty_history_and_empty_title(rec: Recommender) -> None:
    e = rec.explain(TITLES[0], [])
    assert e.score == 0.0
    assert e.history == ()
    assert all(w.share == 0.0 for w in e.words)
    assert e.faithfulness_words is None  # all shares tie
    assert e.faithfulness_history is None
    blank = rec.explain("...", TITLES[:2])
    assert blank.words == () and blank.score == 0.0
    single = rec.explain(TITLES[0], TITLES[1:2])
    assert single.history[0].loo == pytest.approx(single.score, abs=1e-5)
    assert single.faithfulness_history is None


def test_long_history_keeps_original_indices() -> None:
    rec = Recommender.create(NRMSConfig(max_history=3), pretrained=False)
    rec.add_titles(TITLES)
    e = rec.explain(TITLES[0], TITLES)
    assert [h.index for h in e.history] == [3, 4, 5]


def test_spearman() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1.0], [2.0]) is None
    assert spearman([], []) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1, 2], [1, 2, 3]) is None
    assert spearman([1, float("nan")], [1, 2]) is None
    # ties get average ranks: x ranks (1, 2.5, 2.5, 4), y ranks (1, 2, 3, 4)
    rx = np.array([1, 2.5, 2.5, 4]) - 2.5
    ry = np.array([1, 2, 3, 4]) - 2.5
    expected = (rx * ry).sum() / np.sqrt((rx**2).sum() * (ry**2).sum())
    assert spearman([0.1, 0.5, 0.5, 0.9], [1, 2, 3, 4]) == pytest.approx(expected)
