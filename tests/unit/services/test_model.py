"""Encoding articles for the cache: vectors and lexical biases, a chunk at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.services import model as model_service
from nrms_core.recommender import Recommender


def test_encode_gives_each_article_its_vector_and_lexical_bias(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [(f"Story {i} about rockets and markets", f"feed{i % 3}") for i in range(7)]
    rec = Recommender.create(pretrained=False, seed=1)
    rec.add_titles([t for t, _ in texts], [s for _, s in texts])
    with torch.no_grad():
        rec.model.word_bias.normal_()
    monkeypatch.setattr(model_service, "ENCODE_CHUNK", 3)  # three chunks: 3 + 3 + 1
    vectors, lexical = model_service.encode(rec, texts)
    assert vectors.dtype == np.float16 and vectors.shape == (7, rec.config.news_dim)
    expected = rec.encode([t for t, _ in texts], [s for _, s in texts])
    np.testing.assert_allclose(vectors.astype(np.float32), expected, atol=1e-2)
    assert lexical.dtype == np.float32
    assert lexical.tolist() == pytest.approx(rec.lexical([t for t, _ in texts]).tolist())
    assert len(set(lexical.tolist())) > 1  # each title its own bias, not one broadcast
    empty_vectors, empty_lexical = model_service.encode(rec, [])
    assert empty_vectors.shape[0] == 0 and empty_lexical.shape == (0,)


def test_an_encode_of_several_chunks_forgets_the_titles_it_tokenised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The memo of tokenised titles is emptied after each chunk: encoded titles are cached as
    vectors, so holding 65,536 of them after a large encode only costs memory."""
    from nrms_core import tokenizer

    texts = [(f"Story {i} about rockets", "feed") for i in range(7)]
    rec = Recommender.create(pretrained=False, seed=1)
    rec.add_titles([t for t, _ in texts])
    monkeypatch.setattr(model_service, "ENCODE_CHUNK", 3)
    tokenizer.forget()
    model_service.encode(rec, texts)
    assert tokenizer._tokenize.cache_info().currsize == 0
