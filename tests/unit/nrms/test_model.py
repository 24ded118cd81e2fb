import pytest
import torch

from nrms_core.config import NRMSConfig
from nrms_core.model import NRMS, AdditiveAttention, MultiHeadSelfAttention, masked_softmax

VOCAB = 40
D = 256


@pytest.fixture
def model() -> NRMS:
    torch.manual_seed(0)
    net = NRMS(NRMSConfig(), VOCAB)
    with torch.no_grad():
        net.embedding.weight.normal_(0.0, 0.5)
    return net.eval()


def _titles(n: int, length: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(2, VOCAB, (n, length), generator=g)  # [n, length]


def test_shapes(model: NRMS) -> None:
    tokens = _titles(6, 7)
    out = model.news_encoder(tokens)
    assert out.vector.shape == (6, D)
    assert out.attention.shape == (6, 7)
    assert out.words.shape == (6, 7, D)
    history = torch.tensor([[0, 1, 2], [3, 4, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    candidates = torch.tensor([[5, 4], [1, 2]])
    assert model(tokens, history, mask, candidates).shape == (2, 2)


def test_extra_pad_words_change_nothing(model: NRMS) -> None:
    tokens = _titles(4, 5)
    tokens[1, 3:] = 0  # a shorter title
    padded = torch.cat([tokens, torch.zeros(4, 9, dtype=torch.long)], dim=1)  # [4, 14]
    short = model.news_encoder(tokens)
    long = model.news_encoder(padded)
    assert torch.allclose(short.vector, long.vector, atol=1e-6, rtol=0)
    assert torch.allclose(short.attention, long.attention[:, :5], atol=1e-6, rtol=0)
    assert torch.equal(long.attention[:, 5:], torch.zeros(4, 9))
    assert torch.equal(short.attention[1, 3:], torch.zeros(2))
    assert torch.allclose(short.attention.sum(1), torch.ones(4), atol=1e-6)


def test_extra_pad_history_slots_change_nothing(model: NRMS) -> None:
    torch.manual_seed(2)
    news = torch.randn(2, 4, D)  # [B, H, D]
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    extra = torch.cat([news, torch.randn(2, 6, D) * 100], dim=1)  # junk in pad slots
    extra_mask = torch.cat([mask, torch.zeros(2, 6, dtype=torch.bool)], dim=1)
    base = model.user_encoder(news, mask)
    more = model.user_encoder(extra, extra_mask)
    assert torch.allclose(base.vector, more.vector, atol=1e-6, rtol=0)
    assert torch.allclose(base.attention, more.attention[:, :4], atol=1e-6, rtol=0)
    assert torch.equal(more.attention[:, 4:], torch.zeros(2, 6))
    alone = model.user_encoder(news[:1, :3], mask[:1, :3])
    assert torch.allclose(alone.vector, base.vector[:1], atol=1e-6, rtol=0)


def test_empty_history_gives_finite_score(model: NRMS) -> None:
    tokens = _titles(3, 4)
    empty = torch.zeros(2, 0, dtype=torch.long)
    logits = model(tokens, empty, empty.bool(), torch.tensor([[0, 1], [1, 2]]))
    assert torch.isfinite(logits).all()
    masked_out = model(
        tokens,
        torch.zeros(2, 3, dtype=torch.long),
        torch.zeros(2, 3, dtype=torch.bool),
        torch.tensor([[0, 1], [1, 2]]),
    )
    assert torch.isfinite(masked_out).all()
    assert torch.equal(masked_out, logits)


def test_empty_title_is_a_zero_vector(model: NRMS) -> None:
    vectors = model.encode_news(torch.zeros(2, 3, dtype=torch.long))
    assert torch.equal(vectors, torch.zeros(2, D))


def test_eval_is_deterministic_and_train_mode_uses_dropout(model: NRMS) -> None:
    tokens = _titles(5, 6)
    first = model.encode_news(tokens)
    assert torch.equal(first, model.encode_news(tokens))
    model.train()
    assert not torch.allclose(model.encode_news(tokens), model.encode_news(tokens))


def test_scores_are_dot_products(model: NRMS) -> None:
    user = torch.randn(2, D)
    cands = torch.randn(2, 3, D)
    expected = torch.einsum("bd,bcd->bc", user, cands)
    assert torch.allclose(model.score(user, cands), expected, atol=1e-5)


def test_untrained_user_is_close_to_history_mean(model: NRMS) -> None:
    news = model.encode_news(_titles(8, 6)).unsqueeze(0)  # [1, 8, D]
    u = model.encode_user(news, torch.ones(1, 8, dtype=torch.bool))[0]
    mean = news[0].mean(0)
    cosine = torch.nn.functional.cosine_similarity(u, mean, dim=0)
    assert float(cosine.detach()) > 0.95


def test_masked_softmax_rows() -> None:
    scores = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, False, True], [False, False, False]])
    weights = masked_softmax(scores, mask)
    assert weights[0, 1] == 0
    assert torch.allclose(weights[0].sum(), torch.tensor(1.0))
    assert torch.equal(weights[1], torch.zeros(3))


def test_grow_keeps_old_rows(model: NRMS) -> None:
    tokens = _titles(3, 4)
    before = model.encode_news(tokens)
    old = model.embedding.weight.detach().clone()
    model.grow(torch.randn(5, 50))
    assert model.vocab_size == VOCAB + 5
    assert torch.equal(model.embedding.weight[:VOCAB], old)
    assert torch.equal(model.encode_news(tokens), before)


def test_indexed_history_equals_gathered_history(model: NRMS) -> None:
    torch.manual_seed(3)
    distinct = torch.randn(6, D)  # [U, D]
    index = torch.tensor([[0, 3, 3, 5], [2, 1, 0, 0]])  # [B, H]
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    gathered = model.user_encoder(distinct[index], mask)
    indexed = model.user_encoder(distinct, mask, index)
    assert torch.allclose(gathered.vector, indexed.vector, atol=1e-6, rtol=0)
    assert torch.allclose(gathered.attention, indexed.attention, atol=1e-6, rtol=0)


def test_length_buckets_give_the_same_vectors(model: NRMS) -> None:
    g = torch.Generator().manual_seed(5)
    tokens = torch.randint(2, VOCAB, (23, 12), generator=g)  # [23, 12]
    lengths = torch.randint(0, 13, (23,), generator=g)
    tokens[torch.arange(12)[None, :] >= lengths[:, None]] = 0  # left-aligned, ragged
    plain = model.encode_news(tokens)
    bucketed = model.encode_news(tokens, bucket=4)
    assert torch.allclose(plain, bucketed, atol=1e-6, rtol=0)


def test_encoding_without_gradients_gives_the_training_form(model: NRMS) -> None:
    """Without gradients the encoders project each distinct token once and take torch's fused
    attention and a batched pooling; they must give what the explicit form (training's, and
    the trace's) gives, padded and empty rows included."""
    tokens = _titles(8, 6)
    tokens[2, 3:] = 0  # a shorter title
    tokens[5] = 0  # an empty one: every row of its batch goes the explicit way
    with torch.no_grad():
        fused = model.news_encoder(tokens[:5]).vector  # [5, D] no empty title
        mixed = model.news_encoder(tokens).vector  # [8, D]
    explicit = model.news_encoder(tokens).vector.detach()  # grad enabled: the training form
    assert torch.allclose(fused, explicit[:5], atol=1e-6)
    assert torch.allclose(mixed, explicit, atol=1e-6)
    assert torch.equal(mixed[5], torch.zeros(D))
    traced = model.news_encoder.trace(tokens[:5]).vector.detach()
    assert torch.allclose(fused, traced, atol=1e-6)
    news = torch.randn(3, 4, D)
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True, False, False, False]])
    with torch.no_grad():
        user = model.encode_user(news, mask)  # [3, D]
    assert torch.allclose(user, model.encode_user(news, mask).detach(), atol=1e-6)


def test_encodings_pooling_gives_the_additive_attentions_output() -> None:
    """AdditiveAttention.pool (tanh as a sigmoid, the logits' constant left to the softmax)
    gives forward's pooled vectors and weights, with padding and without."""
    torch.manual_seed(3)
    layer = AdditiveAttention(256, 200)
    h = torch.randn(64, 12, 256)
    mask = torch.ones(64, 12, dtype=torch.bool)
    ragged = mask.clone()
    ragged[::2, 7:] = False
    ragged[5] = False  # a row with nothing real
    with torch.inference_mode():
        for where in (mask, ragged):
            pooled, weights = layer(h, where)
            fast, fast_weights = layer.pool(h, where)
            torch.testing.assert_close(fast, pooled, rtol=0, atol=1e-6)
            torch.testing.assert_close(fast_weights, weights, rtol=0, atol=1e-6)


def test_one_projection_of_distinct_rows_gives_each_heads_queries_keys_and_values() -> None:
    """Without gradients, rows gathered by an index are projected once, queries, keys and
    values together: the same as projecting each row with each layer."""
    torch.manual_seed(4)
    layer = MultiHeadSelfAttention(50, 16, 16)
    x = torch.randn(40, 50)  # [U, E] distinct rows
    index = torch.randint(0, 40, (8, 6))  # [B, L]
    mask = torch.ones(8, 6, dtype=torch.bool)
    with torch.inference_mode():
        fused = layer._heads(x, mask, index)
    rows = x[index]  # [B, L, E]
    for got, linear in zip(fused, (layer.query, layer.key, layer.value), strict=True):
        want = linear(rows).detach().view(8, 6, 16, 16).transpose(1, 2)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
