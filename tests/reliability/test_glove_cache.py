"""The GloVe word cache is checked by a hash (issue 18 item 15), and the word list is read
without pyarrow (issue 15).

A cache that pairs words with the wrong vector rows would silently give every title the
wrong meaning, so a shuffled, damaged, truncated or stale cache must be discarded (with one
log line) and rebuilt from the package.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from nrms_core import glove
from nrms_core.parquet import ParquetError, read_strings, snappy_decompress


@pytest.fixture(scope="module")
def words() -> list[str]:
    return read_strings(glove._package_root() / glove._INDEX_FILE, "index")


@pytest.fixture(scope="module")
def good_cache(words: list[str], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = glove._package_root()
    path = tmp_path_factory.mktemp("glove") / glove._WORDS_FILE
    glove._write_cached_words(path, glove._source_key(root / glove._INDEX_FILE, len(words)), words)
    return path.read_bytes()


@pytest.fixture
def cache(
    tmp_path: Path, good_cache: bytes, words: list[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A good cache in a scratch folder; a rebuild reads the (already parsed) word list."""
    path = tmp_path / glove._WORDS_FILE
    path.write_bytes(good_cache)
    monkeypatch.setattr(glove, "read_strings", lambda *_: list(words))
    return path


def _reload(cache: Path) -> glove.GloVe:
    glove._load.cache_clear()
    try:
        return glove._load(cache.parent)
    finally:
        glove._load.cache_clear()


def test_the_parquet_word_list_reads_without_pyarrow(words: list[str]) -> None:
    assert len(words) == 400_000
    assert words[:6] == ["the", ",", ".", "of", "to", "and"]
    assert len(set(words)) == len(words)


def _rewrite_payload(cache: Path, change: bytes) -> None:
    """Replace the cache's words, keeping its header (so only the hash can tell)."""
    raw = np.load(cache).tobytes()
    np.save(cache, np.frombuffer(raw[: glove._HEADER] + change, dtype=np.uint8))


def test_a_shuffled_cache_is_discarded_and_rebuilt(
    cache: Path, words: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    shuffled = list(words)
    shuffled[10], shuffled[11] = shuffled[11], shuffled[10]  # same count, same bytes, wrong order
    _rewrite_payload(cache, "\n".join(shuffled).encode())
    with caplog.at_level(logging.WARNING, logger="nrms_core.glove"):
        table = _reload(cache)
    assert [r.message for r in caplog.records if "discarding" in r.message] == [
        r.message for r in caplog.records if r.levelno >= logging.WARNING
    ]
    assert len([r for r in caplog.records if "discarding" in r.message]) == 1
    vectors = np.load(glove._package_root() / glove._VECTORS_FILE, mmap_mode="r")
    got, found = table.lookup([words[10], words[11]])
    assert found.all()
    assert np.array_equal(got, np.asarray(vectors[10:12]))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nrms_core.glove"):
        _reload(cache)  # the rebuilt cache is good
    assert not caplog.records


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty", "source"])
def test_a_damaged_cache_is_discarded_and_rebuilt(
    cache: Path, words: list[str], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(cache.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x20
        cache.write_bytes(bytes(data))
    elif damage == "truncate":
        cache.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "garbage":
        cache.write_bytes(b"\x93NUMPY not really")
    elif damage == "empty":
        cache.write_bytes(b"")
    else:  # built from other package data
        raw = np.load(cache).tobytes()
        np.save(cache, np.frombuffer(raw[:32] + bytes(32) + raw[glove._HEADER :], dtype=np.uint8))
    with caplog.at_level(logging.WARNING, logger="nrms_core.glove"):
        table = _reload(cache)
    assert len(table) == len(words)
    assert sum("discarding" in r.message for r in caplog.records) == 1
    assert np.load(cache).tobytes()[glove._HEADER :] == "\n".join(words).encode()


def test_the_default_cache_is_the_platform_cache_folder() -> None:
    from platformdirs import user_cache_dir

    assert glove.default_cache_dir() == Path(user_cache_dir("Heedful", appauthor=False))


def test_a_portable_profile_keeps_its_cache_inside(tmp_path: Path) -> None:
    from app.services.profile import ProfilePaths

    assert ProfilePaths(tmp_path.resolve()).glove == tmp_path.resolve() / "cache" / "glove"


def test_snappy_literals_and_overlapping_copies() -> None:
    # "abcabcabcabcX": a literal "abc", a copy of 9 bytes at offset 3 (overlapping), literal X
    block = bytes([13, 2 << 2]) + b"abc" + bytes([(8 << 2) | 2, 3, 0]) + bytes([0]) + b"X"
    assert snappy_decompress(block) == b"abcabcabcabcX"
    with pytest.raises(ParquetError):
        snappy_decompress(bytes([5, 0]) + b"a" + bytes([(3 << 2) | 2, 9, 0]))  # offset too far
    with pytest.raises(ParquetError):
        snappy_decompress(bytes([9, 0]) + b"a")  # shorter than announced


def test_a_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"PAR1" + bytes(20) + b"PAR1")
    with pytest.raises(ParquetError):
        read_strings(bad, "index")
