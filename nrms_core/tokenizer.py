"""Title tokeniser: NLTK's data-free Treebank-style word tokeniser, lower-cased."""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any, NamedTuple

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

logger = logging.getLogger(__name__)

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
    """Empty the memo of recently tokenised titles (tens of megabytes after a large encode).

    The memo of pieces between spaces (:func:`_tokenize`) stays: a few megabytes at most,
    and most of what the next titles hold."""
    _tokenize.cache_clear()


@functools.lru_cache(maxsize=65536)
def _tokenize(text: str, max_tokens: int) -> tuple[str, ...]:
    """NLTK's tokens of the normalised, lower-cased text that hold a letter or digit.

    A text without quotes is split a piece between spaces at a time, each piece memoised
    (:func:`_inner_words`): titles share most of their words, so most pieces are looked up,
    not tokenised, which made tokenising a fifth of a first For you at 100,000 articles.
    The tokens are NLTK's all the same: without quotes, no pattern but those anchored at the
    text's start or end matches across a space, and a piece is tokenised between spaces as it
    stands between them in the title. The last piece, where an anchored pattern may match
    (it ends in a period, a colon or a comma), is tokenised as the text's end; a text whose
    last piece is only closing marks, where a final period may lie in an earlier piece, or
    one with a quote, is tokenised whole."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text).strip().lower()
    if not text:
        return ()
    pieces = text.split(" ")
    last = pieces[-1]  # not empty: the text is stripped
    if len(pieces) == 1 or not _QUOTES.isdisjoint(text) or not last.rstrip(_TRAILING):
        return _words(text)[:max_tokens]
    tokens: list[str] = []
    for piece in pieces[:-1]:
        if piece:  # two spaces in a row leave an empty piece, which holds no token
            tokens += _inner_words(piece)
    if last.endswith((":", ",")) or last.rstrip(_TRAILING).endswith("."):
        tokens += _last_words(last)  # where a pattern anchored at the end may match
    else:
        tokens += _inner_words(last)
    return tuple(tokens[:max_tokens])


def _words(text: str) -> tuple[str, ...]:
    """The tokens of ``text`` (:func:`_split`) that hold a letter or digit."""
    # isalnum() is what \w tests for each character: most tokens skip the regular expression
    return tuple(t for t in _split(text) if t.isalnum() or _WORDLIKE.search(t))


@functools.lru_cache(maxsize=65536)
def _inner_words(piece: str) -> tuple[str, ...]:
    """The words of a piece of a title between two spaces (see :func:`_tokenize`): NLTK's
    tokens of the piece between spaces, without the patterns anchored at the text's start or
    end."""
    plain = _plain_words(piece)
    if plain is not None:
        return plain
    words = _split(" " + piece + " ", inner=True)
    return tuple(t for t in words if t.isalnum() or _WORDLIKE.search(t))


_PADDED = re.compile(r"[;@#$%&?!*]")
"""What NLTK always sets apart by spaces (the patterns ``[;@#$%&]``, ``[?!]`` and ``[*]``),
and no other pattern of a piece without quotes looks at."""
_CONTRACTED = {
    "cannot": ("can", "not"),
    "gimme": ("gim", "me"),
    "gonna": ("gon", "na"),
    "gotta": ("got", "ta"),
    "lemme": ("lem", "me"),
    "wanna": ("wan", "na"),
}
"""The contractions NLTK splits that hold no quote, lower-cased, as it splits them."""


def _plain_words(piece: str) -> tuple[str, ...] | None:
    """The words of a piece of ASCII letters and digits, with at most :data:`_PADDED`
    between them, without running NLTK's patterns (a word the piece is made of is a token,
    or the two halves of a contraction; the characters between them hold no word); None for
    any other piece."""
    if not piece.isascii():
        return None
    runs = _PADDED.split(piece)
    if not all(run.isalnum() for run in runs if run):
        return None
    words: list[str] = []
    for run in runs:
        if run:
            words += _CONTRACTED.get(run, (run,))
    return tuple(words)


@functools.lru_cache(maxsize=32768)
def _last_words(piece: str) -> tuple[str, ...]:
    """The words of the last piece of a title, after a space (see :func:`_tokenize`)."""
    return _words(" " + piece)


class _Step(NamedTuple):
    """One substitution of NLTK's tokeniser, and a test that is False only for a text the
    pattern cannot match (so skipping the substitution leaves the text as it is)."""

    pattern: Any  # NLTK's own compiled pattern: a regex.Pattern, or an re.Pattern
    replacement: str
    needed: Callable[[str], bool]


def _any_of(chars: str) -> Callable[[str], bool]:
    """A test for a pattern that matches only where one of ``chars`` occurs."""
    wanted = frozenset(chars)
    return lambda text: not wanted.isdisjoint(text)


def _word(word: str) -> Callable[[str], bool]:
    """A test for a case-insensitive pattern of ASCII letters that matches only ``word``: in
    ASCII text it must occur lower-cased; other text (where a Kelvin sign or a long s match
    ASCII letters case-insensitively) is always tried."""
    return lambda text: not text.isascii() or word in text.lower()


_TRAILING = (
    "])}>\"'»”’" + "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\u180e\u200b"
)
"""What may follow a final period (the closing marks, and every space ``\\s`` matches and more):
stripped from the end of a text that such a period ends, they leave that period last."""
_ODD_SPACE = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f")

_NEEDED: dict[str, Callable[[str], bool]] = {
    # starting quotes
    "([«“‘„]|[`]+)": _any_of("«“‘„`"),
    '^\\"': _any_of('"'),
    "(``)": _any_of("`"),
    "([ \\(\\[{<])(\\\"|\\'{2})": _any_of("\"'"),
    "(?i)(?<!\\w)(\\')(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)": _any_of("'"),
    # punctuation: a final period is followed by closing marks and spaces alone
    "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*+)\\s*$": lambda t: t.rstrip(_TRAILING).endswith("."),
    "([:,])([^\\d])": _any_of(":,"),
    "([:,])$": lambda t: t.rstrip("\n").endswith((":", ",")),
    "\\.{2,}": lambda t: ".." in t,
    "[;@#$%&]": _any_of(";@#$%&"),
    "[\\u2012-\\u2015]": _any_of("\u2012\u2013\u2014\u2015"),
    "([^\\.])(\\.)([\\]\\)}>\"\\']*)\\s*$": lambda t: t.rstrip(_TRAILING).endswith("."),
    "[?!]": _any_of("?!"),
    "([^'])' ": _any_of("'"),
    "[*]": _any_of("*"),
    "[\\]\\[\\(\\)\\{\\}\\<\\>]": _any_of("[](){}<>"),
    "--": lambda t: "--" in t,
    # ending quotes; whitespace runs become one space (already so in most titles)
    "([»”’])": _any_of("»”’"),
    "''": lambda t: "''" in t,
    '"': _any_of('"'),
    "\\s+": lambda t: not t.isascii() or "  " in t or not _ODD_SPACE.isdisjoint(t),
    "([^' ])('[sS]|'[mM]|'[dD]|') ": _any_of("'"),
    "([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": _any_of("'"),
    # contractions
    "(?i)\\b(can)(?#X)(not)\\b": _word("cannot"),
    "(?i)\\b(d)(?#X)('ye)\\b": _word("d'ye"),
    "(?i)\\b(gim)(?#X)(me)\\b": _word("gimme"),
    "(?i)\\b(gon)(?#X)(na)\\b": _word("gonna"),
    "(?i)\\b(got)(?#X)(ta)\\b": _word("gotta"),
    "(?i)\\b(lem)(?#X)(me)\\b": _word("lemme"),
    "(?i)\\b(more)(?#X)('n)\\b": _word("more'n"),
    "(?i)\\b(wan)(?#X)(na)(?=\\s)": _word("wanna"),
    "(?i) ('t)(?#X)(is)\\b": _any_of("'"),
    "(?i) ('t)(?#X)(was)\\b": _any_of("'"),
}
"""What each of NLTK's patterns needs in a text to match it, by the pattern's source."""


def _steps() -> tuple[tuple[_Step, ...], tuple[_Step, ...]] | None:
    """NLTK's substitutions before and after it pads the text with spaces, each with its
    test; None when this NLTK has a pattern not in :data:`_NEEDED` (then NLTK runs whole)."""
    nltk = NLTKWordTokenizer
    contraction = r" \1 \2 "
    before = [*nltk.STARTING_QUOTES, *nltk.PUNCTUATION, nltk.PARENS_BRACKETS, nltk.DOUBLE_DASHES]
    after = [
        *nltk.ENDING_QUOTES,
        *((p, contraction) for p in nltk.CONTRACTIONS2),
        *((p, contraction) for p in nltk.CONTRACTIONS3),
    ]
    if any(p.pattern not in _NEEDED for p, _ in before + after):
        logger.warning("this NLTK has patterns of its own: titles are tokenised the slow way")
        return None

    def step(pattern: Any, replacement: str) -> _Step:
        # NLTK wraps each pattern in its ReDoS guard, which runs it under a timeout: a call
        # then costs 2-3x as much. Its tokeniser's patterns are fixed, none backtracks
        # exponentially, and a title is at most MAX_CHARS long, so the compiled pattern
        # inside is run directly (the same engine, so the same text).
        engine = getattr(pattern, "_rx", pattern)
        return _Step(engine, replacement, _NEEDED[pattern.pattern])

    return tuple(step(*s) for s in before), tuple(step(*s) for s in after)


_STEPS = _steps()

_ANCHORED = frozenset(
    [
        '^\\"',
        "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*+)\\s*$",
        "([:,])$",
        "([^\\.])(\\.)([\\]\\)}>\"\\']*)\\s*$",
    ]
)
"""NLTK's patterns anchored at the start or the end of the text (by source)."""


_QUOTES = frozenset("'\"`«»“”‘’„")
"""Every quote NLTK's patterns look for: a title holding one is split whole."""


def _inner(steps: tuple[_Step, ...]) -> tuple[_Step, ...]:
    """The steps that can change a piece of a title without quotes between two spaces: not
    those anchored at the text's start or end, not those that match only a quote (every
    unanchored pattern with a quote in it), and not ``\\s+``, which only makes each run of
    whitespace one space (every character its ``\\s`` matches is one ``str.split`` splits
    at, and without quotes no later pattern tells one space from several)."""
    return tuple(
        s
        for s in steps
        if s.pattern.pattern not in _ANCHORED
        and s.pattern.pattern != "\\s+"
        and _QUOTES.isdisjoint(s.pattern.pattern)
    )


_INNER = None if _STEPS is None else (_inner(_STEPS[0]), _inner(_STEPS[1]))


def _split(text: str, *, inner: bool = False) -> list[str]:
    """``NLTKWordTokenizer().tokenize(text)``, the same tokens, in about a fifth of its time.

    Why: NLTK runs 33 substitutions on every title, each through its ReDoS guard (the
    ``regex`` engine under a timeout, ~10 µs a call even where nothing matches), which made
    tokenising most of the first For you over 100,000 articles. This runs the same patterns
    in the same order, but only those whose test (:data:`_NEEDED`) says the text could hold a
    match (a title without an apostrophe skips the apostrophe rules, and so on), and without
    the timeout (see :func:`_steps`). With ``inner`` the text is a piece of a title without
    quotes, between spaces, and only the patterns that can match it run (:func:`_inner`)."""
    if _STEPS is None or _INNER is None:
        tokens: list[str] = _TOKENIZER.tokenize(text)
        return tokens
    before, after = _INNER if inner else _STEPS
    for step in before:
        if step.needed(text):
            text = step.pattern.sub(step.replacement, text)
    text = " " + text + " "
    for step in after:
        if step.needed(text):
            text = step.pattern.sub(step.replacement, text)
    return text.split()


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
