"""Bounded gzip/deflate decoding."""

from __future__ import annotations

import gzip
import zlib

import pytest

from app.feeds.inflater import InflateError, Inflater, SizeExceededError

TEXT = b"<rss>" + b"hello feed " * 1000 + b"</rss>"


def decode(data: bytes, coding: str, limit: int = 1 << 20, chunk: int = 100) -> bytes:
    inflater = Inflater(coding, limit)
    out = b""
    for start in range(0, len(data), chunk):
        out += b"".join(inflater.feed(data[start : start + chunk]))
    return out + b"".join(inflater.finish())


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "GZIP", "identity, gzip"])
def test_gzip(coding: str) -> None:
    assert decode(gzip.compress(TEXT), coding) == TEXT


def test_deflate_zlib_and_raw() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert decode(zlib.compress(TEXT), "deflate") == TEXT
    assert decode(raw.compress(TEXT) + raw.flush(), "deflate") == TEXT


def test_identity_and_none() -> None:
    assert decode(TEXT, "") == TEXT
    assert decode(TEXT, "identity") == TEXT


def test_concatenated_gzip_members() -> None:
    assert decode(gzip.compress(b"abc") + gzip.compress(b"def"), "gzip") == b"abcdef"


def test_bomb_stops_at_the_limit_without_decoding_the_rest() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = compressor.compress(bytes(64 << 20)) + compressor.flush()  # 64 MiB -> ~64 KB
    inflater = Inflater("gzip", 1000)
    produced = 0
    with pytest.raises(SizeExceededError):
        for piece in inflater.feed(bomb):
            assert len(piece) <= 1001
            produced += len(piece)
    assert produced <= 1001
    assert inflater.produced == 1001


def test_exact_limit_is_allowed() -> None:
    assert decode(gzip.compress(bytes(1000)), "gzip", limit=1000) == bytes(1000)
    with pytest.raises(SizeExceededError):
        decode(gzip.compress(bytes(1001)), "gzip", limit=1000)
    with pytest.raises(SizeExceededError):
        decode(bytes(1001), "", limit=1000)


@pytest.mark.parametrize(
    ("data", "coding"),
    [
        (b"definitely not gzip", "gzip"),
        (gzip.compress(TEXT)[:-20], "gzip"),
        (b"\xff\xfe garbage", "deflate"),
    ],
)
def test_corrupt_bodies(data: bytes, coding: str) -> None:
    with pytest.raises(InflateError):
        decode(data, coding)


@pytest.mark.parametrize("coding", ["br", "compress", "gzip, br", "zstd"])
def test_unsupported_codings(coding: str) -> None:
    with pytest.raises(InflateError, match="unsupported"):
        Inflater(coding, 100)
