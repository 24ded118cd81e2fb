"""Shares of the original title words and past reads: exact, padding-invariant, defined when
the history is empty."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nrms_core.explain import Explanation, explain, input_parts, rescore
from nrms_core.model import NRMS
from nrms_core.recommender import Recommender

TITLES = [
    "Oil prices climb as supply tightens",
    "Stocks rally on strong earnings",
    "Local team wins the cup final",
    "Central bank holds interest rates",
    "New phone launched with faster chip",
    "Storm closes schools across the region",
]
FEEDS = ["Markets", "Markets", "Sport", "Markets", "Tech", "Weather"]
CANDIDATE = "Oil stocks rally as rates climb"


@pytest.fixture(scope="module")
def rec() -> Recommender:
    """A model with every term of the click score non-zero: value biases in both encoders,
    sharper self-attention, a scale, a feed bias and word biases."""
    rec = Recommender.create(pretrained=False, seed=3)
    rec.add_titles([*TITLES, CANDIDATE], [*FEEDS, "Markets"])
    model = rec.model
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.embedding.weight.mul_(5.0)
        for layer in (model.news_encoder.self_attention, model.user_encoder.self_attention):
            layer.value.bias.copy_(torch.randn(layer.value.bias.shape, generator=g) * 0.3)
            layer.query.weight.mul_(3.0)
        model.score_scale.fill_(0.7)
        model.source_bias[rec.vocab.ids(["<src:markets>"])] = 0.4
        model.word_bias[rec.vocab.ids(["oil", "rates"])] = torch.tensor([0.5, -0.2])
    return rec


def _sums(e: Explanation) -> tuple[float, float]:
    """The two exact decompositions of ``e.score``: by words and by past reads."""
    words = sum(w.share + w.bias for w in e.words) + e.word_base + e.feed
    reads = sum(h.share for h in e.history) + e.history_base + e.lexical + e.feed
    return words, reads


def test_shares_of_the_inputs_sum_to_the_click_score(rec: Recommender) -> None:
    e = rec.explain(CANDIDATE, TITLES, "Markets", FEEDS)
    assert e.method == "inputs"
    assert e.word_base != 0.0 and e.history_base != 0.0 and e.feed == pytest.approx(0.4)
    assert e.lexical != 0.0
    words, reads = _sums(e)
    assert words == pytest.approx(e.score, abs=1e-4)
    assert reads == pytest.approx(e.score, abs=1e-4)
    user = rec.user_vector(rec.encode(TITLES, FEEDS))
    ranked = rec.score(user, rec.encode([CANDIDATE], ["Markets"]), ["Markets"], [CANDIDATE])
    assert e.score == pytest.approx(float(ranked[0]), abs=1e-4)
    assert sum(w.input_attention for w in e.words) == pytest.approx(1.0, abs=1e-5)
    assert sum(h.input_attention for h in e.history) == pytest.approx(1.0, abs=1e-5)
    assert sum(w.attention for w in e.words) == pytest.approx(1.0, abs=1e-5)
    heads = rec.config.heads
    assert e.word_self_attention.shape == (heads, len(e.words), len(e.words))
    assert e.history_self_attention.shape == (heads, len(TITLES), len(TITLES))
    assert np.allclose(e.history_self_attention.sum(-1), 1.0, atol=1e-5)


def test_blend_shares_stay_available_and_exact(rec: Recommender) -> None:
    new = rec.explain(CANDIDATE, TITLES, "Markets", FEEDS)
    old = rec.explain(CANDIDATE, TITLES, "Markets", FEEDS, method="blend")
    assert old.method == "blend" and old.word_base == 0.0 and old.history_base == 0.0
    assert old.score == pytest.approx(new.score, abs=1e-6)
    assert _sums(old) == pytest.approx((old.score, old.score), abs=1e-4)
    assert [w.loo for w in old.words] == pytest.approx([w.loo for w in new.words], abs=1e-6)
    assert [w.share for w in old.words] != pytest.approx([w.share for w in new.words], abs=1e-3)
    with pytest.raises(ValueError):
        rec.explain(CANDIDATE, TITLES, method="other")  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_list_sums_in_both_precisions_with_and_without_padding(
    rec: Recommender, dtype: torch.dtype
) -> None:
    model = NRMS(rec.config, rec.model.vocab_size)
    model.load_state_dict(rec.model.state_dict())
    model.to(dtype)
    tokens = rec.vocab.ids(CANDIDATE.lower().split())
    history = [rec.vocab.ids(t.lower().split()) for t in TITLES]
    bias = [0.1 * j for j in range(len(tokens))]
    names = [str(t) for t in tokens]
    cpu = torch.device("cpu")
    tight = 1e-9 if dtype == torch.float64 else 1e-5
    for method in ("inputs", "blend"):
        e = explain(model, tokens, names, history, cpu, word_bias=bias, method=method)
        assert e.method == method
        words, reads = _sums(e)
        assert words == pytest.approx(e.score, abs=1e-4)
        assert reads == pytest.approx(e.score, abs=1e-4)
        # pad ids (0) after the title and after every past read are masked: they change no
        # share and get none
        padded = explain(
            model,
            [*tokens, 0, 0, 0],
            [*names, "", "", ""],
            [[*h, 0, 0] for h in history],
            cpu,
            word_bias=[*bias, 0.0, 0.0, 0.0],
            method=method,
        )
        assert padded.score == pytest.approx(e.score, abs=tight)
        shares = [w.share for w in padded.words]
        assert shares[: len(tokens)] == pytest.approx([w.share for w in e.words], abs=tight)
        assert shares[len(tokens) :] == [0.0, 0.0, 0.0]
        assert [h.share for h in padded.history] == pytest.approx(
            [h.share for h in e.history], abs=tight
        )
        assert padded.word_base == pytest.approx(e.word_base, abs=tight)
        assert padded.history_base == pytest.approx(e.history_base, abs=tight)


def test_parts_sum_to_the_pooled_vectors(rec: Recommender) -> None:
    model = NRMS(rec.config, rec.model.vocab_size)
    model.load_state_dict(rec.model.state_dict())
    model.double().eval()
    tokens = torch.tensor([[3, 4, 5, 6, 0, 0], [7, 8, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        news = model.news_encoder.trace(tokens)
        parts, constant, reach = input_parts(model.news_encoder.self_attention, news)
        assert torch.allclose(news.vector, model.news_encoder(tokens).vector, atol=1e-12)
        assert torch.allclose(parts.sum(1) + constant, news.vector, atol=1e-10)
        assert torch.equal(parts[tokens == 0], torch.zeros_like(parts[tokens == 0]))
        assert torch.allclose(reach.sum(1), torch.tensor([1.0, 1.0, 0.0], dtype=reach.dtype))
        assert torch.equal(constant[2], torch.zeros_like(constant[2]))  # empty title: r = 0
        mask = torch.tensor([[True, True, False]])
        user = model.user_encoder.trace(news.vector[None], mask)
        past, base, _ = input_parts(model.user_encoder.self_attention, user)
        assert torch.allclose(past.sum(1) + base, user.vector, atol=1e-10)
        assert torch.allclose(user.vector, model.encode_user(news.vector[None], mask), atol=1e-12)


def test_pad_words_and_pad_reads_change_no_share(rec: Recommender) -> None:
    model = rec.model.eval()
    tokens = torch.tensor([rec.vocab.ids(["oil", "stocks", "rally", "climb"])])
    padded = torch.cat([tokens, torch.zeros(1, 7, dtype=torch.long)], dim=1)  # [1, 11]
    with torch.no_grad():
        short = input_parts(model.news_encoder.self_attention, model.news_encoder.trace(tokens))
        long = input_parts(model.news_encoder.self_attention, model.news_encoder.trace(padded))
        assert torch.allclose(short[0], long[0][:, :4], atol=1e-6)
        assert torch.equal(long[0][:, 4:], torch.zeros_like(long[0][:, 4:]))
        assert torch.allclose(short[1], long[1], atol=1e-6)
        g = torch.Generator().manual_seed(1)
        news = torch.randn(1, 3, rec.config.news_dim, generator=g)  # [1, 3, D]
        junk = torch.cat([news, 100 * torch.randn(1, 5, rec.config.news_dim, generator=g)], 1)
        mask = torch.ones(1, 3, dtype=torch.bool)
        more = torch.cat([mask, torch.zeros(1, 5, dtype=torch.bool)], dim=1)  # [1, 8]
        layer = model.user_encoder.self_attention
        base = input_parts(layer, model.user_encoder.trace(news, mask))
        extra = input_parts(layer, model.user_encoder.trace(junk, more))
        assert torch.allclose(base[0], extra[0][:, :3], atol=1e-5)
        assert torch.equal(extra[0][:, 3:], torch.zeros_like(extra[0][:, 3:]))
        assert torch.allclose(base[1], extra[1], atol=1e-6)


def test_explanation_shares_do_not_depend_on_the_history_padding(rec: Recommender) -> None:
    """explain pads past reads to the longest title: a longer title among them changes
    no other read's vector, hence no share."""
    short = rec.explain(CANDIDATE, TITLES[:3])
    longer = "Storm closes schools across the region as rivers rise and roads flood again"
    rec.add_titles([longer])
    e = rec.explain(CANDIDATE, [*TITLES[:3], longer])
    vectors = rec.encode([*TITLES[:3], longer])
    assert np.allclose(vectors[:3], rec.encode(TITLES[:3]), atol=1e-6)
    assert len(e.history) == 4 and len(short.history) == 3
    words, reads = _sums(e)
    assert words == pytest.approx(e.score, abs=1e-4) and reads == pytest.approx(e.score, abs=1e-4)


def test_empty_history_is_defined(rec: Recommender) -> None:
    e = rec.explain(CANDIDATE, [], "Markets")
    assert e.history == () and e.history_base == 0.0 and e.word_base == 0.0
    assert all(w.share == 0.0 for w in e.words)  # u = 0
    assert e.score == pytest.approx(e.feed + e.lexical, abs=1e-6)
    assert _sums(e) == pytest.approx((e.score, e.score), abs=1e-6)
    assert e.history_self_attention.shape == (rec.config.heads, 0, 0)
    words, reads = rec.erased(CANDIDATE, [], "Markets", words=[[1]], reads=[[0]])
    assert reads.tolist() == pytest.approx([e.score]) and words.shape == (1,)


def test_past_reads_differ_where_self_attention_is_uniform(rec: Recommender) -> None:
    """With the reader encoder's self-attention uniform every h_i is the same blend, so the
    blend shares are all alike; the shares of the original reads still tell them apart."""
    model = NRMS(rec.config, rec.model.vocab_size)
    model.load_state_dict(rec.model.state_dict())
    with torch.no_grad():
        model.user_encoder.self_attention.query.weight.zero_()
        model.user_encoder.self_attention.query.bias.zero_()
    history = [rec.vocab.ids(t.lower().split()) for t in TITLES]
    tokens = rec.vocab.ids(["oil", "stocks"])
    cpu = torch.device("cpu")
    old = explain(model, tokens, ["oil", "stocks"], history, cpu, method="blend")
    new = explain(model, tokens, ["oil", "stocks"], history, cpu)
    assert np.ptp([h.share for h in old.history]) < 1e-6
    assert np.ptp([h.share for h in new.history]) > 1e-3
    assert [h.input_attention for h in new.history] == pytest.approx([1 / 6] * 6, abs=1e-6)


def test_word_shares_match_the_explanation(rec: Recommender) -> None:
    e = rec.explain(CANDIDATE, TITLES, "Markets", FEEDS)
    user = rec.user_vector(rec.encode(TITLES, FEEDS))
    titles = [CANDIDATE, "vote", "", TITLES[2]]
    sources = ["Markets", "Sport", None, "Sport"]
    rows = rec.word_shares(titles, user, sources, batch_size=2)
    assert [s for _, s in rows[0]] == pytest.approx([w.share + w.bias for w in e.words], abs=1e-4)
    assert rows[2] == []
    scores = rec.score(user, rec.encode(titles, sources), None, titles)
    base = rec.word_base(user)
    assert base == pytest.approx(e.word_base, abs=1e-5)
    for row, score in zip(rows, scores, strict=True):
        if row:
            assert sum(s for _, s in row) + base == pytest.approx(float(score), abs=1e-4)


def test_erasures_rescore_as_leave_one_out_does(rec: Recommender) -> None:
    e = rec.explain(CANDIDATE, TITLES, "Markets", FEEDS)
    n = len(e.words)
    words, reads = rec.erased(
        CANDIDATE,
        TITLES,
        "Markets",
        FEEDS,
        words=[[j] for j in range(n)] + [list(range(n))],
        reads=[[i] for i in range(len(TITLES))] + [list(range(len(TITLES)))],
    )
    assert (e.score - words[:n]).tolist() == pytest.approx([w.loo for w in e.words], abs=1e-5)
    assert (e.score - reads[:-1]).tolist() == pytest.approx([h.loo for h in e.history], abs=1e-5)
    assert words[-1] == pytest.approx(e.feed, abs=1e-6)  # nothing left but the feed's bias
    assert reads[-1] == pytest.approx(e.feed + e.lexical, abs=1e-6)  # u = 0
    raw, _ = rescore(rec.model, [], [], torch.device("cpu"), erase_words=[[0]])
    assert raw.tolist() == [0.0]
