"""Title tokeniser: NLTK's data-free Treebank-style word tokeniser, lower-cased."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources

from nltk.tokenize import NLTKWordTokenizer

__all__ = [
    "MAX_CHARS",
    "SOURCE_PREFIX",
    "content_words",
    "forget",
    "source_name",
    "source_token",
    "stopwords",
    "tokenize",
]

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


def forget() -> None:
    """Empty the memo of recently tokenised titles (tens of megabytes after a large encode)."""
    _tokenize.cache_clear()


@functools.lru_cache(maxsize=65536)
def _tokenize(text: str, max_tokens: int) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text).strip().lower()
    if not text:
        return ()
    tokens = [t for t in _TOKENIZER.tokenize(text) if _WORDLIKE.search(t)]
    return tuple(tokens[:max_tokens])


SOURCE_PREFIX = "<src:"
"""Start of a source token; the tokeniser never yields ``<``, so no title word collides."""

MAX_SOURCE_CHARS = 100


def source_token(source: str | None) -> str | None:
    """The vocabulary token of a feed (or MIND category), e.g. ``"<src:bbc world>"``.

    Whitespace is collapsed, case folded and the name cut to ``MAX_SOURCE_CHARS``;
    None or a blank name gives None (no token).
    """
    if not isinstance(source, str):
        return None
    name = " ".join(_CONTROL.sub(" ", source[:MAX_CHARS]).split()).lower()[:MAX_SOURCE_CHARS]
    return f"{SOURCE_PREFIX}{name}>" if name else None


def source_name(token: str) -> str | None:
    """The feed name inside a source token, or None when ``token`` is a title word."""
    if token.startswith(SOURCE_PREFIX) and token.endswith(">"):
        return token[len(SOURCE_PREFIX) : -1]
    return None


@functools.cache
def stopwords() -> frozenset[str]:
    """The English stopword list shipped as ``nrms_core/stopwords.txt``."""
    text = resources.files("nrms_core").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def content_words(tokens: Iterable[str]) -> list[str]:
    """The distinct tokens that are neither stopwords nor source tokens, in first-seen order:
    the words a title's per-word click bias is counted over."""
    stop = stopwords()
    seen: dict[str, None] = {}
    for token in tokens:
        if token not in stop and source_name(token) is None:
            seen.setdefault(token, None)
    return list(seen)
