"""The source token: an article's feed as the first token of its title."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from nrms_core.config import NRMSConfig
from nrms_core.model import NRMS
from nrms_core.recommender import Recommender
from nrms_core.sampling import Sample
from nrms_core.tokenizer import source_name, source_token, tokenize
from nrms_core.trainer import Trainer

WORDS = ["match", "market", "storm", "vote", "court", "film", "rocket", "harvest"]
FEEDS = ["Daily Sport", "City Desk"]


def _titles(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(WORDS, rng.randint(2, 5))) for _ in range(n)]


@pytest.fixture
def rec() -> Recommender:
    rec = Recommender.create(pretrained=False, seed=0)
    rec.add_titles(_titles(20), [FEEDS[i % 2] for i in range(20)])
    return rec


def test_source_token_is_normalised_and_never_a_title_word() -> None:
    assert source_token("  BBC   World\n") == "<src:bbc world>"
    assert source_token("") is None and source_token("   ") is None and source_token(None) is None
    assert source_name("<src:bbc world>") == "bbc world"
    assert source_name("world") is None
    long = source_token("x" * 5000)
    assert long is not None and len(long) < 120
    assert all(not t.startswith("<") for t in tokenize("Hello <src:bbc world> and <b>"))


def test_sources_get_their_own_random_rows(rec: Recommender) -> None:
    tokens = rec.vocab.tokens()
    assert "<src:daily sport>" in tokens and "<src:city desk>" in tokens
    assert rec.add_titles(["match vote"], ["Daily Sport", "daily  sport", None, ""]) == 0
    assert rec.add_titles([], ["New Feed"]) == 1
    row = rec.vocab.ids(["<src:new feed>"])[0]
    assert row == len(rec.vocab) - 1 == rec.model.vocab_size - 1
    assert float(rec.model.embedding.weight.detach()[row].norm()) > 0


def test_encoding_with_sources_is_padding_invariant_and_differs_by_feed(
    rec: Recommender,
) -> None:
    titles = ["match", "storm vote court film rocket harvest market"]
    both = rec.encode(titles, FEEDS)
    for i, title in enumerate(titles):
        alone = rec.encode([title], [FEEDS[i]])
        assert np.allclose(alone[0], both[i], atol=1e-6)
    other = rec.encode(["match"], ["City Desk"])
    assert not np.allclose(other[0], both[0], atol=1e-3)
    assert not np.allclose(rec.encode(["match"])[0], both[0], atol=1e-3)
    with pytest.raises(ValueError):
        rec.encode(titles, FEEDS[:1])


def test_unknown_source_at_inference_is_left_out(rec: Recommender) -> None:
    titles = ["match market", "storm"]
    size = len(rec.vocab)
    unknown = rec.encode(titles, ["Never Seen", None])
    assert np.array_equal(unknown, rec.encode(titles))
    assert len(rec.vocab) == size
    explanation = rec.explain("match market", ["storm"], candidate_source="Never Seen")
    assert [w.token for w in explanation.words] == ["match", "market"]


def test_source_is_never_truncated() -> None:
    rec = Recommender.create(NRMSConfig(max_title=5), pretrained=False)
    title = " ".join(WORDS)
    rec.add_titles([title], ["Daily Sport"])
    explanation = rec.explain(title, [title], candidate_source="Daily Sport")
    tokens = [w.token for w in explanation.words]
    assert tokens == ["<src:daily sport>", *WORDS[:5]]
    shares = rec.word_shares([title], rec.user_vector(rec.encode([title])), ["Daily Sport"])
    assert [t for t, _ in shares[0]] == tokens


def test_explanation_with_source_sums_to_the_score(rec: Recommender) -> None:
    history = ["match vote", "film rocket harvest", "storm"]
    feeds = ["Daily Sport", "City Desk", "Daily Sport"]
    explanation = rec.explain(
        "market court match", history, candidate_source="City Desk", history_sources=feeds
    )
    assert explanation.words[0].token == "<src:city desk>"
    assert explanation.words[0].attention > 0
    assert sum(w.share for w in explanation.words) == pytest.approx(explanation.score, abs=1e-4)
    assert sum(h.share for h in explanation.history) == pytest.approx(explanation.score, abs=1e-4)
    user = rec.user_vector(rec.encode(history, feeds))
    score = rec.score(user, rec.encode(["market court match"], ["City Desk"]))[0]
    assert explanation.score == pytest.approx(float(score), abs=1e-4)


def test_word_shares_sum_to_the_scores(rec: Recommender) -> None:
    titles = ["match market storm", "vote", "", "film rocket harvest court storm vote"]
    sources = ["Daily Sport", "City Desk", None, "City Desk"]
    user = rec.user_vector(rec.encode(["match vote", "film"], FEEDS))
    for names in (sources, None):
        rows = rec.word_shares(titles, user, names, batch_size=2)
        scores = rec.score(user, rec.encode(titles, names))
        assert len(rows) == 4 and rows[2] == []
        for row, title, score in zip(rows, titles, scores, strict=True):
            assert [t for t, _ in row if not t.startswith("<src:")] == tokenize(title)
            assert sum(s for _, s in row) == pytest.approx(float(score), abs=1e-5)
    assert rec.word_shares(titles, user, sources)[0][0][0] == "<src:daily sport>"


def test_fine_tune_learns_a_feed_only_reader() -> None:
    """Both feeds share one word pool: only the source token tells them apart."""
    rec = Recommender.create(pretrained=False, seed=0)
    titles = dict(enumerate(_titles(40, seed=1)))
    sources = {a: FEEDS[a % 2] for a in titles}
    liked = [a for a in titles if a % 2 == 0]
    other = [a for a in titles if a % 2 == 1]
    rng = random.Random(0)
    samples = [
        Sample(tuple(rng.sample(liked, 4)), (rng.choice(liked), *rng.sample(other, 4)))
        for _ in range(48)
    ]
    result = rec.fine_tune(samples, titles, sources, epochs=3, lr=3e-3, holdout=0.0)
    assert result.samples == 48
    order = sorted(titles)
    vectors = rec.encode([titles[a] for a in order], [sources[a] for a in order])
    user = rec.user_vector(vectors[liked[:5]])
    scores = rec.score(user, vectors)
    assert scores[liked].mean() > scores[other].mean() + 0.1


def test_warm_start_shows_the_token_at_the_given_rate(rec: Recommender) -> None:
    titles = _titles(16, seed=3)
    groups = ["A feed"] * 8 + ["B feed"] * 8
    result = rec.warm_start(titles, groups, epochs=1, source_rate=1.0, seed=0)
    assert result.steps > 0 and "<src:a feed>" in rec.vocab
    plain = Recommender.create(pretrained=False, seed=0)
    plain.warm_start(titles, groups, epochs=1, source_rate=0.0)
    assert "<src:a feed>" not in plain.vocab
    with pytest.raises(ValueError):
        rec.warm_start(titles, groups, source_rate=1.5)


def test_source_rows_train_at_their_own_rate() -> None:
    torch.manual_seed(0)
    model = NRMS(NRMSConfig(dropout=0.0), 12)
    titles = {a: [2 + a % 8, 10 + a % 2] for a in range(16)}
    samples = [Sample((0, 2, 4), (2 * k % 16, 1, 3, 5, 7)) for k in range(8)]
    fast = torch.zeros(12, dtype=torch.bool)
    fast[10:] = True
    start = model.embedding.weight.detach().clone()
    trainer = Trainer(
        model,
        titles,
        device=torch.device("cpu"),
        lr=1e-2,
        epochs=1,
        batch_size=4,
        holdout=0.0,
        embed_lr_scale=0.0,
        fast_rows=fast,
    )
    trainer.fit(samples)
    moved = (model.embedding.weight.detach() - start).abs().sum(dim=1)  # [V]
    assert torch.all(moved[:10] == 0)
    assert torch.all(moved[10:] > 0)


def test_checkpoint_keeps_the_sources(rec: Recommender, tmp_path: Path) -> None:
    path = tmp_path / "m.ckpt"
    rec.save(path)
    again = Recommender.load(path)
    titles = ["match vote", "storm"]
    assert np.array_equal(again.encode(titles, FEEDS), rec.encode(titles, FEEDS))
