"""Title tokeniser: NLTK's data-free Treebank-style word tokeniser, lower-cased."""

from __future__ import annotations

import functools
import re
import unicodedata

from nltk.tokenize import NLTKWordTokenizer

__all__ = ["MAX_CHARS", "tokenize"]

MAX_CHARS = 1000
"""Longest prefix of a title that is tokenised; titles are short, input is untrusted."""

_TOKENIZER = NLTKWordTokenizer()
_WORDLIKE = re.compile(r"\w", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def tokenize(title: str, max_tokens: int = 30) -> list[str]:
    """Split a title into at most ``max_tokens`` lower-case tokens.

    Tokens without a letter or digit (bare punctuation) are dropped, so that
    explanations speak of words. Never raises on odd input.
    """
    if not isinstance(title, str) or max_tokens < 1:
        return []
    return list(_tokenize(title[:MAX_CHARS], max_tokens))


@functools.lru_cache(maxsize=65536)
def _tokenize(text: str, max_tokens: int) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text).strip().lower()
    if not text:
        return ()
    tokens = [t for t in _TOKENIZER.tokenize(text) if _WORDLIKE.search(t)]
    return tuple(tokens[:max_tokens])
